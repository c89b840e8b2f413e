"""The control plane: projects, API keys, content sets and the other records the management API edits.

Modules: ``models`` (tables), ``db`` (engines, sessions, migrations), ``keys`` (API key generation and
hashing), ``projects`` (operations shared by the API and the CLI).
"""
