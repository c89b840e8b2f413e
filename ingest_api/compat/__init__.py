"""Adapters that let other clients' wire protocols talk to our API (see ``ingest_api.routers.compat_feelback``)."""
