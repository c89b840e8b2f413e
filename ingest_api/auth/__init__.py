"""Accounts and authorization for the API: sessions and their cookies (``sessions``), CSRF checks
(``csrf``), the one permissions dependency every private route runs (``permissions``), sign-in
throttles (``limits``), account mails and their signed links (``mails``), bodies (``schemas``).
The routes are in ``ingest_api.routers.accounts`` and ``ingest_api.routers.organizations``;
``README.md`` beside this file lists them with the role each needs.
"""
