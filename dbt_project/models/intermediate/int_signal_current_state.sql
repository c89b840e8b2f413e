{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'visitor_id', 'signal_id'],
    pre_hook="{{ delete_touched_keys('signal_id', batch_group_signals()) }}",
  )
}}
{#-
  One row per live signal: not revoked and, where the content set counts one signal per
  visitor, the visitor's latest signal of that type on that content (by creation). A newer
  signal supersedes the older ones for good: revoking it leaves the visitor with no signal
  rather than bringing an older one back.
  Recomputed per visitor and content, because a new signal can retire an older one.
  Sets not (yet) replicated from the control plane get the domain default: one per visitor
  for every type but messages.
-#}
-- depends_on: {{ ref('int_batch_signals') }}

with signals as (
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
        revoked_at
    {%- if is_incremental() %}
    -- every signal of the visitor groups the batch touched, with its lifecycle
    from {{ ref('int_batch_signals') }}
    {%- else %}
    from {{ ref('int_signal_lifecycle') }}
    {%- endif %}
),

set_rules as (
    -- Nullable, so that a set missing from raw_app joins as NULL rather than false
    select project_id, content_set, toNullable(one_per_visitor) as one_per_visitor
    from {{ ref('stg_app__content_sets') }}
),

ranked as (
    select
        signals.project_id as project_id,
        signals.content_set as content_set,
        signals.content_key as content_key,
        signals.visitor_id as visitor_id,
        signals.signal_id as signal_id,
        signals.signal_type as signal_type,
        signals.value as value,
        signals.rating_scale as rating_scale,
        signals.reaction as reaction,
        signals.message as message,
        signals.tags as tags,
        signals.value_event_id as value_event_id,
        signals.created_at as created_at,
        signals.created_day as created_day,
        signals.updated_at as updated_at,
        signals.edits as edits,
        signals.revoked_at as revoked_at,
        coalesce(set_rules.one_per_visitor, signals.signal_type != 'message') as one_per_visitor,
        row_number() over (
            partition by signals.project_id, signals.content_set, signals.content_key, signals.signal_type, signals.visitor_id
            order by signals.created_at desc, signals.signal_id desc
        ) as newest_first
    from signals
    left join set_rules
        on set_rules.project_id = signals.project_id
        and set_rules.content_set = signals.content_set
)

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
    edits
from ranked
where revoked_at is null
  and (newest_first = 1 or not one_per_visitor)
