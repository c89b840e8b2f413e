-- The ingest drainer sends every batch with an insert_deduplication_token derived from its spool
-- segment, so a batch retried after a timeout or a crash is dropped as a duplicate instead of
-- stored twice. Plain MergeTree only remembers recent insert tokens when this window is set
-- (replicated tables have their own window by default).
ALTER TABLE raw.feedback_events MODIFY SETTING non_replicated_deduplication_window = 1000;
