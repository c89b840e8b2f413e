{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    query_settings={'enable_materialized_cte': 1},
    engine='MergeTree()',
    order_by=['period', 'project_id', 'content_set', 'period_start', 'content_key', 'signal_type'],
    pre_hook="{{ delete_touched_keys('period_key', touched_periods(batch_content_days(), ['project_id', 'content_set', 'content_key', 'signal_type']), period_key(['project_id', 'content_set', 'content_key', 'signal_type'])) }}",
  )
}}
{#-
  Calendar periods per content and signal type in the project's time zone: ISO week (from
  Monday), month, year, and 'all' time. A widget's "this month" is one row.
  Periods containing a day touched by the batch are recomputed: weeks and months from
  agg_content_daily, years from the months, all time from the years. Ordered by period first: a
  period of a set's contents (a widget, a listing page, a ranking) is one primary-key range, and
  so are the month rows of a year that a build sums.
-#}
-- depends_on: {{ ref('int_batch_signals') }}
{{ calendar_periods(ref('agg_content_daily'), ['project_id', 'content_set', 'content_key', 'signal_type'], batch_content_days(), 'content_day_key') }}
