"""How the `kafka` collector authenticates and secures its connections.

`tls` builds the client's TLS context (CA, client certificate and its key password, the server
name to send and check, or no verification at all); `rules` checks which settings go with which
`sasl_mechanism` (used by the config model, so it imports no client library); `oauth` fetches
OAUTHBEARER tokens from an OAuth token endpoint (client credentials); `msk_iam` signs AWS MSK IAM
tokens; `kerberos` sets up GSSAPI credentials from a keytab or a ticket cache; `providers` picks
the token provider a config needs.
"""
