{#-
  Rolling windows of the last 7, 30 and 90 days as of the build's watermark day: for every key
  with signals in the last 90 days, one row per window (zeros included), summed from daily rows.
  Reads only the last ~90 days of the daily table, whatever the history.
-#}
{% macro rolling_windows(daily, key_columns) -%}
with
    assumeNotNull({{ build_watermark() }}) as watermark_at,

recent as (
    select
        daily.*,
        -- the watermark's date in the project's time zone
        {{ local_date('watermark_at', "if(projects.timezone = '', 'UTC', projects.timezone)") }} as as_of_day
    from {{ daily }} as daily
    left join {{ ref('stg_app__projects') }} as projects on projects.project_id = daily.project_id
    -- a day of margin covers every time zone; the exact bound is per project, below
    where daily.day >= toDate(watermark_at) - 91
)

select
    {{ key_columns | join(', ') }},
    toUInt16(window_days) as window_days,
    as_of_day,
    toDate(as_of_day - window_days + 1) as window_start,
    {{ summed_measures('day >= as_of_day - window_days + 1') }},
    {{ measure_averages() }}
from recent
array join [7, 30, 90] as window_days
where day between as_of_day - 89 and as_of_day
group by {{ key_columns | join(', ') }}, window_days, as_of_day
{%- endmacro %}


{#-
  Calendar periods in the project's time zone containing a day: its ISO week (from Monday), its
  month, its year, and 'all' (all time; period_start 1970-01-01).
-#}
{% macro period_start(period, day) -%}
  multiIf(
    {{ period }} = 'week', toMonday({{ day }}),
    {{ period }} = 'month', toStartOfMonth({{ day }}),
    {{ period }} = 'year', toStartOfYear({{ day }}),
    toDate('1970-01-01')
  )
{%- endmacro %}

{% macro periods() -%}['week', 'month', 'year', 'all']{%- endmacro %}

{#- The periods containing the days of `touched_days` (key columns + day). -#}
{% macro touched_periods(touched_days, key_columns) -%}
  select distinct {{ key_columns | join(', ') }}, period, {{ period_start('period', 'day') }} as period_start
  from ({{ touched_days }})
  array join {{ periods() }} as period
{%- endmacro %}

{#-
  Period rows from daily rows. Weeks, months and years are summed from their days; all time is
  the sum of the years. When incremental, only the periods containing `touched_days` are made:
  their days are read from the earliest touched period on (not the whole history), and all time
  adds the recomputed years to the untouched years already in this table (the pre-hook deleted
  the touched ones). So a period row costs at most a year of days, and all time a row per year.
-#}
{% macro calendar_periods(daily, key_columns, touched_days) -%}
{%- set keys = key_columns | join(', ') -%}
with
{%- if is_incremental() %}
touched as (
    {{ touched_periods(touched_days, key_columns) }}
),
{%- endif %}

days as (
    select daily.*, period, {{ period_start('period', 'day') }} as period_start
    from {{ daily }} as daily
    array join ['week', 'month', 'year'] as period
    {%- if is_incremental() %}
    where ({{ keys }}) in (select {{ keys }} from touched)
      and daily.day >= (select min(period_start) from touched where period != 'all')
    {%- endif %}
),

calendar as (
    select {{ keys }}, period, period_start, {{ summed_measures() }}
    from days
    {%- if is_incremental() %}
    where ({{ keys }}, period, period_start) in (select {{ keys }}, period, period_start from touched)
    {%- endif %}
    group by {{ keys }}, period, period_start
),

years as (
    select {{ keys }}, {{ measure_sum_columns() }} from calendar where period = 'year'
    {%- if is_incremental() %}
    union all
    select {{ keys }}, {{ measure_sum_columns() }}
    from {{ this }}
    where period = 'year' and ({{ keys }}) in (select {{ keys }} from touched)
    {%- endif %}
),

all_time as (
    select {{ keys }}, 'all' as period, toDate('1970-01-01') as period_start, {{ summed_measures() }}
    from years
    group by {{ keys }}
)

select
    {{ keys }},
    CAST(period, 'LowCardinality(String)') as period,
    period_start,
    {{ measure_sum_columns() }},
    {{ measure_averages() }}
from (
    select * from calendar
    union all
    select * from all_time
)
{%- endmacro %}
