"""The application config: its model and the loader that validates a file against every kind."""
