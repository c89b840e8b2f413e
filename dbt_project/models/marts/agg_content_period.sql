{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    partition_by='toYear(period_start)',
    order_by=['project_id', 'content_set', 'content_key', 'period', 'period_start', 'signal_type'],
    pre_hook="{{ delete_touched_keys(['project_id', 'content_set', 'content_key', 'signal_type', 'period', 'period_start'], touched_periods(batch_content_days(), ['project_id', 'content_set', 'content_key', 'signal_type'])) }}",
  )
}}
{#-
  Calendar periods per content and signal type in the project's time zone: ISO week (from
  Monday), month, year, and 'all' time. A widget's "this month" is one row.
  Periods containing a day touched by the batch are recomputed: weeks, months and years from
  agg_content_daily, all time from the years. Partitioned by year, all time in 1970.
-#}
{{ calendar_periods(ref('agg_content_daily'), ['project_id', 'content_set', 'content_key', 'signal_type'], batch_content_days()) }}
