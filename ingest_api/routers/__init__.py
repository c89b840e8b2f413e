"""HTTP routes, one module per audience: ``signals`` (SDK ingest), ``stats`` (widgets), ``management`` (private)."""
