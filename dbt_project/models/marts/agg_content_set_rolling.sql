{{
  config(
    materialized='table',
    engine='MergeTree()',
    order_by=['project_id', 'content_set', 'window_days', 'signal_type'],
  )
}}
{#- Last 7, 30 and 90 days per content set and signal type; see agg_content_rolling. -#}
{{ rolling_windows(ref('agg_content_set_daily'), ['project_id', 'content_set', 'signal_type']) }}
