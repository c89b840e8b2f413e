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
  Rebuilt whole each build from the last 90 days of daily rows: the windows move every day, so
  there is nothing to keep. Read from agg_content_daily_by_set (the same rows ordered by day
  within set), where the last 90 days are a primary-key range per set, whatever the history.
-#}
{{ rolling_windows(ref('agg_content_daily_by_set'), ['project_id', 'content_set', 'content_key', 'signal_type']) }}
