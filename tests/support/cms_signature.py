"""The ACS3-HMAC-SHA256 signature check of the local CloudMonitor (tests/support/cms_server.py).

The V3 signature `alibabacloud-tea-openapi` sends by default: `authenticate` rebuilds the
canonical request from what arrived, signs it with the configured secret and compares; it also
checks the signed headers, the body hash, the date's skew and that a nonce is used once. Every
failure is an `ApiError` with the real API's Code and Message.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import quote

from tests.support.cms_api import ApiError

ALGORITHM = "ACS3-HMAC-SHA256"
REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
MAX_SKEW_S = 15 * 60


def canonical_query(params: dict[str, str]) -> str:
    """`k=v` pairs, RFC 3986-encoded (`~` kept), sorted by encoded key, joined by `&`."""
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def header(headers: dict[str, list[str]], name: str) -> str:
    """The first value of header `name` (lower case), or ""."""
    values = headers.get(name, [])
    return values[0] if values else ""


def authenticate(
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, list[str]],
    body: bytes,
    *,
    access_key_id: str,
    access_key_secret: str,
    first_use: Callable[[str], bool],
) -> str:
    """The request's access key id once its signature holds; raises ApiError otherwise.

    `first_use(nonce)` records the nonce and says whether it is new (checked last)."""
    auth = header(headers, "authorization")
    algorithm, _, rest = auth.partition(" ")
    if algorithm != ALGORITHM:
        raise ApiError(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    key_id, signed, signature = (
        parts.get("Credential", ""),
        parts.get("SignedHeaders", ""),
        parts.get("Signature", ""),
    )
    if key_id != access_key_id:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    names = signed.split(";")
    if any(name not in names for name in REQUIRED_SIGNED) or names != sorted(names):
        raise ApiError(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    payload = hashlib.sha256(body).hexdigest()
    if header(headers, "x-acs-content-sha256") != payload:
        raise ApiError(
            400,
            "ContentSha256NotMatch",
            "The x-acs-content-sha256 header does not match the body.",
        )
    canonical = "\n".join(
        [
            method,
            quote(path or "/", safe="/~"),
            canonical_query(params),
            "".join(
                f"{n}:{','.join(sorted(v.strip() for v in headers.get(n, [])))}\n" for n in names
            ),
            signed,
            payload,
        ]
    )
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    expected = hmac.new(
        access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ApiError(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation."
            f" server string to sign is:{string_to_sign}",
        )
    try:
        sent = datetime.strptime(header(headers, "x-acs-date"), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=timezone.utc
        )
    except ValueError:
        raise ApiError(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        ) from None
    if abs(time.time() - sent.timestamp()) > MAX_SKEW_S:
        raise ApiError(
            400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        )
    if not first_use(header(headers, "x-acs-signature-nonce")):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return key_id
