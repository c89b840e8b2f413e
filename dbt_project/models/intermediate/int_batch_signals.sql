{{
  config(
    materialized='table',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'visitor_id', 'signal_id'],
  )
}}
{#-
  The reach of this build's batch: every created signal whose counting the batch may change.
  That is every signal (live, superseded or revoked) of each visitor × content with an operation
  in the batch, since one-per-visitor decides between them. Later models recompute the keys these
  signals reach (visitor groups, content-days, set-days, periods) instead of finding them again.
  Their lifecycle rows come along, for int_signal_current_state to rank without looking them up
  again. Rebuilt every build; empty on a first build (nothing downstream is incremental yet).
-#}
-- depends_on: {{ ref('stg_feedback_events') }}
{%- set downstream = adapter.get_relation(database=none, schema=this.schema, identifier='int_signal_current_state') if execute else none %}

select
    project_id,
    content_set,
    content_key,
    visitor_id,
    signal_id,
    signal_type,
    value,
    rating_scale,
    reaction,
    message,
    tags,
    value_event_id,
    created_at,
    created_day,
    updated_at,
    edits,
    revoked_at,
    visitor_group_key,
    {{ content_day_key('created_day') }} as content_day_key
from {{ ref('int_signal_lifecycle') }}
{%- if downstream is not none and not flags.FULL_REFRESH %}
where visitor_group_key in ({{ batch_visitor_groups() }})
{%- else %}
where false
{%- endif %}
