"""The columns of ``raw.feedback_events`` that a writer fills, in the order its rows carry them
(migration 0001 makes the table): the API's writer, the demo's sample history and the tests' events."""

TABLE = "raw.feedback_events"
COLUMNS = (
    "event_id", "idempotency_key", "project_id", "content_set", "content_key", "signal_id", "operation",
    "signal_type", "value", "rating_scale", "reaction", "message", "tags", "contact_email", "form_fields",
    "visitor_id", "is_bot", "occurred_at", "received_at",
)  # fmt: skip
