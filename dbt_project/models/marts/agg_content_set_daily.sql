{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'day', 'signal_type'],
    pre_hook="{{ delete_touched_keys('set_day_key', batch_set_days(), day_key(['project_id', 'content_set', 'signal_type'])) }}",
  )
}}
{#- One row per content set, day (project time zone) and signal type: the sum of its contents,
    read as one primary-key range per touched set-day from agg_content_daily_by_set. -#}
-- depends_on: {{ ref('int_batch_signals') }}

select
    project_id,
    content_set,
    day,
    signal_type,
    toUInt64(count()) as contents,
    {{ summed_measures() }},
    {{ measure_averages() }},
    {{ day_key(['project_id', 'content_set', 'signal_type']) }} as set_day_key
from {{ ref('agg_content_daily_by_set') }}
{%- if is_incremental() %}
where (project_id, content_set, day, signal_type) in ({{ batch_set_days() }})
{%- endif %}
group by project_id, content_set, day, signal_type
