{{
  config(
    materialized='table',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'content_key', 'window_days', 'signal_type'],
  )
}}
{#-
  Last 7, 30 and 90 days per content and signal type, as of the build's watermark day in the
  project's time zone (as_of_day; window_start..as_of_day inclusive). A widget reads one row.
  Rebuilt whole each build from the last 90 days of agg_content_daily: the windows move every
  day, so there is nothing to keep, and the cost is bounded by 90 days of daily rows.
-#}
{{ rolling_windows(ref('agg_content_daily'), ['project_id', 'content_set', 'content_key', 'signal_type']) }}
