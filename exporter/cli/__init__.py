"""The command line: `run`, `check-config`, `probe`, `demo`; each command imports only what
it needs."""
