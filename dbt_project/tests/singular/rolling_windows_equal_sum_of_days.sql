{{ config(meta={"dagster": {"ref": {"name": "agg_content_rolling"}}}) }}
-- Every rolling window equals the sum of the daily rows of its days, per content and per set.
{%- set window_and_days %}
        any(rolling.signals) as window_signals,
        any(rolling.value_sum) as window_value_sum,
        any(rolling.value_counts) as window_value_counts,
        sumIf(daily.signals, daily.day between rolling.window_start and rolling.as_of_day) as day_signals,
        sumIf(daily.value_sum, daily.day between rolling.window_start and rolling.as_of_day) as day_value_sum,
        sumMapIf(daily.value_counts, daily.day between rolling.window_start and rolling.as_of_day) as day_value_counts
{%- endset %}
{%- set differs %}
where window_signals != day_signals
   or window_value_sum != day_value_sum
   or mapFilter((k, v) -> v != 0, window_value_counts) != mapFilter((k, v) -> v != 0, day_value_counts)
{%- endset %}
with content_days as (
    select
        rolling.project_id, rolling.content_set, rolling.content_key, rolling.signal_type, rolling.window_days,
        {{- window_and_days }}
    from {{ ref('agg_content_rolling') }} as rolling
    left join {{ ref('agg_content_daily') }} as daily
        on daily.project_id = rolling.project_id
        and daily.content_set = rolling.content_set
        and daily.content_key = rolling.content_key
        and daily.signal_type = rolling.signal_type
    group by rolling.project_id, rolling.content_set, rolling.content_key, rolling.signal_type, rolling.window_days
),

set_days as (
    select
        rolling.project_id, rolling.content_set, '' as content_key, rolling.signal_type, rolling.window_days,
        {{- window_and_days }}
    from {{ ref('agg_content_set_rolling') }} as rolling
    left join {{ ref('agg_content_set_daily') }} as daily
        on daily.project_id = rolling.project_id
        and daily.content_set = rolling.content_set
        and daily.signal_type = rolling.signal_type
    group by rolling.project_id, rolling.content_set, rolling.signal_type, rolling.window_days
)

select * from content_days
{{ differs }}
union all
select * from set_days
{{ differs }}
