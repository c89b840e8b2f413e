{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'day', 'signal_type'],
    pre_hook="{{ delete_touched_keys('content_day_key', batch_content_days()) }}",
  )
}}
{#-
  One row per content, day (project time zone) and signal type with live signals.
  value_counts maps each value (yes/no, up/down, 1..scale, like, reaction key) to its count.
  Content-days touched by the batch (including days of old signals edited or revoked now) are
  recomputed from fct_signals; a day whose signals were all revoked loses its row.
-#}
-- depends_on: {{ ref('int_batch_signals') }}

select
    project_id,
    content_set,
    content_key,
    day,
    signal_type,
    {{ signal_measures() }},
    {{ measure_averages() }},
    content_day_key
from {{ ref('fct_signals') }}
{%- if is_incremental() %}
where content_day_key in (select content_day_key from ({{ batch_content_days() }}))
{%- endif %}
group by project_id, content_set, content_key, day, signal_type, content_day_key
