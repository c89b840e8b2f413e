"""The public ingest write path: create, edit and revoke signals, one at a time or in batches.

Every operation becomes one row of ``raw.feedback_events``. A 2xx means the row is in the fsynced
write-ahead spool (``ingest_api.spool``), from which the drainer (``ingest_api.writer``) inserts it
into ClickHouse exactly once, normally within a second.

* Auth: the project's public key (``X-Feelback-Key`` header or ``key`` query parameter); a browser
  ``Origin`` must be one of the project's allowed origins. Keys, origins and content-set rules are
  cached for ``CACHE_SECONDS`` so the hot path does not touch the control-plane DB.
* Idempotency: each operation has an ``idempotency_key`` (body field, or the ``Idempotency-Key``
  header; generated when absent, and then retries are not recognised). A retry with the same key
  gets the first answer again and writes nothing, whichever worker of the machine takes it; the
  same key with a different request is a 409 (``once``, on ``ingest_api.idempotency``). A create's
  signal id is uuid5(project, key), so a retry that reaches another machine still names the same signal.
* Edits and revokes carry the edit token returned by create (``ingest_api.privacy.EditTokens``);
  after the content set's edit window they get 409 ``signal_final`` with ``closed_at``. A revoke is
  final: a later edit or revoke gets 409 ``signal_revoked``.
* Limits: body size (413), per-visitor and per-project rate (429 + Retry-After; a batch costs its
  operations, and one over the project's burst is a 413), spool budget (503 + Retry-After).
  Crawlers are stored with ``is_bot = true`` (see ``ingest_api.bots``).

Modules, one job each:

* ``refusals`` — ``Refusal``, the one shape of every refused operation;
* ``state`` — ``SignalIngest``, what the routes share in one API process (spool, replay map, limits,
  caches of keys and content-set rules);
* ``caller`` — ``Caller``: who is calling and when, the same for every operation of a request;
* ``bodies`` — reading and checking request bodies and headers;
* ``plain`` — the check that lets a common create skip the pydantic model;
* ``operations`` — one operation checked and turned into its spool row and answer;
* ``once`` — idempotency: an operation stored once, a retry answered with the first answer;
* ``service`` — the seam other routes call (``submit``): validation, limits, idempotency, durability;
* ``batch`` — ``POST /v1/batch``;
* ``handlers`` — the HTTP handlers the router registers (``ingest_api.routers.signals``);
* ``fast_path`` — the same handlers straight from ASGI, for the hot routes.
"""
