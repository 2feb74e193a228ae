"""Building blocks of every config file: value types, error messages, YAML with ${VAR}."""
