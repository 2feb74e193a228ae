"""HTTP basic auth for the web tests: the scrape user's password, its bcrypt hash (as in a
web config's `basic_auth_users`) and the `Authorization` header value."""

from __future__ import annotations

import base64

import bcrypt

PASSWORD = "scrape-me-7Qx"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(6)).decode()


def basic(user: str, password: str) -> str:
    """`Basic base64(user:password)`."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
