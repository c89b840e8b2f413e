"""ClickHouse: the client factory, raw-schema migrations and the local server on chDB."""
