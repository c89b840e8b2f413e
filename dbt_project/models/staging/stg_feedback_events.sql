{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'signal_id', 'received_at'],
    partition_by='toYYYYMM(received_at)',
  )
}}
{#-
  Human signal operations, typed, each operation once.
  Appended: an operation already here (same project and idempotency key) is not appended again,
  so re-running a batch adds nothing. A retry shares its signal_id with the first attempt, so the
  existing keys are looked up among the operations of the batch's signals (one UUID column). Ordered by signal within content so the
  signal-state model reads a signal's whole history as one range.
  Contact e-mails and form fields stay in raw (exports read them there).
  A create or edit whose value its type cannot have (macros/value_fits_type.sql) is left out: the
  API never stores one, and the marts cannot key it.
-#}

with batch as (
    select
        event_id,
        idempotency_key,
        project_id,
        content_set,
        content_key,
        signal_id,
        CAST(operation, 'LowCardinality(String)') as operation,
        CAST(signal_type, 'LowCardinality(String)') as signal_type,
        value,
        rating_scale,
        reaction,
        message,
        tags,
        visitor_id,
        occurred_at,
        received_at
    from {{ source('raw', 'feedback_events') }}
    where not is_bot
      and (operation = 'revoke' or {{ value_fits_type() }})
    {%- if is_incremental() %}
      and {{ in_batch() }}
    {%- endif %}
    -- the first copy of a retried operation is the one the API acknowledged first
    order by received_at, event_id
    limit 1 by project_id, idempotency_key
)

select
    event_id,
    idempotency_key,
    project_id,
    content_set,
    content_key,
    signal_id,
    operation,
    signal_type,
    value,
    rating_scale,
    reaction,
    message,
    tags,
    visitor_id,
    occurred_at,
    received_at
from batch
{%- if is_incremental() %}
where (project_id, idempotency_key) not in (
    select project_id, idempotency_key
    from {{ this }}
    where signal_id in (select signal_id from batch)
)
{%- endif %}
