{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    query_settings={'enable_materialized_cte': 1},
    engine='MergeTree()',
    order_by=['period', 'project_id', 'content_set', 'period_start', 'signal_type'],
    pre_hook="{{ delete_touched_keys('period_key', touched_periods(batch_set_days(), ['project_id', 'content_set', 'signal_type']), period_key(['project_id', 'content_set', 'signal_type'])) }}",
  )
}}
{#- Calendar periods per content set and signal type; see agg_content_period. -#}
-- depends_on: {{ ref('int_batch_signals') }}
{{ calendar_periods(ref('agg_content_set_daily'), ['project_id', 'content_set', 'signal_type'], batch_set_days(), 'set_day_key') }}
