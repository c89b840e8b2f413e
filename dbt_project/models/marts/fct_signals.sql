{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'day', 'signal_id'],
    pre_hook="{{ delete_touched_keys('signal_id', batch_group_signals()) }}",
  )
}}
{#-
  One row per live signal, on the day it was created (project time zone), with its current value
  and a sentiment on [-1, 1]:
    yes/no, up/down   the vote's direction (+1 / -1)
    like              +1
    rating            its position on the scale: (value - 1) / (scale - 1) * 2 - 1
    reaction          the reaction's polarity in its set's config (default reactions otherwise)
    message           VADER's compound score of its current text (NULL until scored)
  sentiment_label buckets it with VADER's thresholds: >= 0.05 positive, <= -0.05 negative.
  value_key names the value for per-value counts: yes/no, up/down, 1..scale, like, the reaction.
  content_day_key is the row key of the agg_content_daily row it counts in (macros/batch.sql).
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
        edits
    from {{ ref('int_signal_current_state') }}
    {%- if is_incremental() %}
    where signal_id in ({{ batch_group_signals() }})
    {%- endif %}
),

message_scores as (
    select
        project_id,
        signal_id,
        event_id,
        toNullable(argMax(compound, scored_at)) as compound
    from {{ source('enrichment', 'message_sentiment') }}
    where (project_id, signal_id) in (select project_id, signal_id from signals where signal_type = 'message')
    group by project_id, signal_id, event_id
),

reaction_polarity as (
    select project_id, content_set, reaction, toNullable(polarity) as polarity
    from {{ ref('int_reaction_polarity') }}
),

default_polarity as (
    select reaction, toNullable(polarity) as polarity
    from {{ ref('default_reactions') }}
),

scored as (
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
        multiIf(
            signals.signal_type = 'yesno', if(signals.value = 1, 'yes', 'no'),
            signals.signal_type = 'updown', if(signals.value = 1, 'up', 'down'),
            signals.signal_type = 'rating', toString(signals.value),
            signals.signal_type = 'like', 'like',
            signals.signal_type = 'reaction', signals.reaction,
            ''
        ) as value_key,
        toNullable(toFloat32(multiIf(
            signals.signal_type in ('yesno', 'updown', 'like'), signals.value,
            signals.signal_type = 'rating' and signals.rating_scale > 1,
                (signals.value - 1) / (signals.rating_scale - 1) * 2 - 1,
            signals.signal_type = 'reaction',
                coalesce(reaction_polarity.polarity, default_polarity.polarity, 0),
            signals.signal_type = 'message', message_scores.compound,
            NULL
        ))) as sentiment
    from signals
    left join reaction_polarity
        on reaction_polarity.project_id = signals.project_id
        and reaction_polarity.content_set = signals.content_set
        and reaction_polarity.reaction = signals.reaction
    left join default_polarity
        on default_polarity.reaction = signals.reaction
    left join message_scores
        on message_scores.project_id = signals.project_id
        and message_scores.signal_id = signals.signal_id
        and message_scores.event_id = signals.value_event_id
)

select
    project_id,
    content_set,
    content_key,
    created_day as day,
    signal_id,
    signal_type,
    visitor_id,
    value,
    rating_scale,
    CAST(value_key, 'LowCardinality(String)') as value_key,
    reaction,
    message,
    tags,
    sentiment,
    CAST(multiIf(
        sentiment is null, 'unscored',
        sentiment >= 0.05, 'positive',
        sentiment <= -0.05, 'negative',
        'neutral'
    ), 'LowCardinality(String)') as sentiment_label,
    created_at,
    updated_at,
    edits,
    {{ content_day_key('created_day') }} as content_day_key
from scored
