{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'visitor_id', 'signal_id'],
    pre_hook="{{ delete_touched_keys('signal_id', batch_signal_ids()) }}",
  )
}}
{#-
  One row per created signal, live or revoked: who created it when, its current value and
  whether it was revoked. Every signal with an operation in the batch is recomputed from all of
  its operations, found in staging by signal_id.

  - The current value is the latest create or edit by received_at; ties go to the edit, then
    to the later occurred_at, then to the event id. (The API enforces the edit window.)
  - A revoke is final: a signal with any revoke is revoked.
  - Operations on a signal whose create is unknown (e.g. a bot's) are ignored, and so are edits
    of another signal type than the create's (the API refuses them; its value would not fit).
  - The day a signal counts on is the day it was created, in the project's time zone.
  - visitor_group_key (row_key of project, set, content, creator) finds a visitor's signals on a
    content by one column.
-#}

with operations as (
    select
        project_id,
        content_set,
        content_key,
        signal_id,
        event_id,
        operation,
        signal_type,
        visitor_id,
        value,
        rating_scale,
        reaction,
        message,
        tags,
        occurred_at,
        received_at,
        signal_type = argMinIf(signal_type, (received_at, event_id), operation = 'create')
            over (partition by project_id, content_set, content_key, signal_id) as of_created_type
    from {{ ref('stg_feedback_events') }}
    {%- if is_incremental() %}
    where signal_id in ({{ batch_signal_ids() }})
    {%- endif %}
),

folded as (
    select
        project_id,
        content_set,
        content_key,
        signal_id,
        argMinIf(visitor_id, (received_at, event_id), operation = 'create') as visitor_id,
        argMinIf(signal_type, (received_at, event_id), operation = 'create') as signal_type,
        minIf(received_at, operation = 'create') as created_at,
        argMaxIf(
            (value, rating_scale, reaction, message, tags, event_id, received_at),
            (received_at, operation = 'edit', occurred_at, event_id),
            operation in ('create', 'edit') and of_created_type
        ) as current,
        toUInt32(countIf(operation = 'edit' and of_created_type)) as edits,
        minIfOrNull(received_at, operation = 'revoke') as revoked_at
    from operations
    group by project_id, content_set, content_key, signal_id
    having countIf(operation = 'create') > 0
),

projects as (
    select project_id, timezone from {{ ref('stg_app__projects') }}
)

select
    folded.project_id as project_id,
    folded.content_set as content_set,
    folded.content_key as content_key,
    folded.visitor_id as visitor_id,
    folded.signal_id as signal_id,
    CAST(folded.signal_type, 'LowCardinality(String)') as signal_type,
    tupleElement(folded.current, 1) as value,
    tupleElement(folded.current, 2) as rating_scale,
    CAST(tupleElement(folded.current, 3), 'LowCardinality(String)') as reaction,
    tupleElement(folded.current, 4) as message,
    CAST(tupleElement(folded.current, 5), 'Array(LowCardinality(String))') as tags,
    tupleElement(folded.current, 6) as value_event_id,
    folded.created_at as created_at,
    {{ local_date('folded.created_at', "if(projects.timezone = '', 'UTC', projects.timezone)") }} as created_day,
    tupleElement(folded.current, 7) as updated_at,
    folded.edits as edits,
    folded.revoked_at as revoked_at,
    {{ row_key(['folded.project_id', 'folded.content_set', 'folded.content_key', 'folded.visitor_id']) }} as visitor_group_key
from folded
left join projects on projects.project_id = folded.project_id
