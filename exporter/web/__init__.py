"""The HTTP server: routes, the web config (TLS, basic auth) and its loading."""
