-- Every signal operation (create, edit, revoke) as an immutable event; the current state of a
-- signal is derived downstream (dbt), never updated in place.
CREATE DATABASE IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.feedback_events
(
    event_id         UUID COMMENT 'Unique id of this operation, assigned by the API',
    idempotency_key  String COMMENT 'Client-supplied key of the operation; a retry carries the same key',
    project_id       LowCardinality(String),
    content_set      LowCardinality(String) COMMENT 'Key of the content set inside the project',
    content_key      String COMMENT 'Page path, URL or id of the content inside the set',
    signal_id        UUID COMMENT 'The signal this operation creates, edits or revokes',
    operation        Enum8('create' = 1, 'edit' = 2, 'revoke' = 3),
    signal_type      Enum8('yesno' = 1, 'updown' = 2, 'rating' = 3, 'like' = 4, 'reaction' = 5, 'message' = 6),
    value            Nullable(Int16) COMMENT 'yesno/updown: 1 or -1; rating: 1..rating_scale; like: 1',
    rating_scale     UInt8 COMMENT 'Top of the rating scale when the event was received; 0 for other types',
    reaction         LowCardinality(String) COMMENT 'Reaction key for reaction signals',
    message          String COMMENT 'Free text for message signals',
    tags             Array(LowCardinality(String)),
    contact_email    String,
    form_fields      Map(String, String),
    visitor_id       String COMMENT 'Salted hash of IP, user agent and project, or the SDK anonymous id',
    is_bot           Bool,
    occurred_at      DateTime64(3, 'UTC') COMMENT 'When the client says the operation happened',
    received_at      DateTime64(3, 'UTC') COMMENT 'When the API acknowledged the operation'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (project_id, content_set, content_key, received_at)
SETTINGS index_granularity = 8192;
