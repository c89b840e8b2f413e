{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'day', 'signal_type', 'content_key'],
    pre_hook="{{ delete_touched_keys('content_day_key', batch_content_days()) }}",
  )
}}
{#-
  The rows of agg_content_daily ordered by set and day instead of content: the contents of a set
  on given days are one primary-key range (set totals, rankings of a set's contents over a week).
  Kept in step with agg_content_daily: the same touched content-days, copied over.
-#}
-- depends_on: {{ ref('int_batch_signals') }}

select
    project_id,
    content_set,
    content_key,
    day,
    signal_type,
    {{ measure_columns() }},
    content_day_key
from {{ ref('agg_content_daily') }}
{%- if is_incremental() %}
where content_day_key in (select content_day_key from ({{ batch_content_days() }}))
{%- endif %}
