"""Feelback core: settings, domain vocabulary, control-plane models and the CLI."""
