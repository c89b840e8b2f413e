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

{#- The row key of a period row (row_key in macros/batch.sql). -#}
{% macro period_key(key_columns, period='period', period_start='period_start') -%}
  {{ row_key(key_columns + [period, period_start]) }}
{%- endmacro %}

{#- Every day of the touched weeks and months (rows of `touched`, from touched_periods). -#}
{% macro days_of_touched_weeks_and_months(key_columns) -%}
  select {{ key_columns | join(', ') }}, period_start + day_number as day
  from touched
  array join range(if(period = 'week', 7, toDayOfMonth(toLastDayOfMonth(period_start)))) as day_number
  where period in ('week', 'month')
{%- endmacro %}

{#-
  Period rows from daily rows: weeks and months are summed from their days, years from their
  months, all time from the years. When incremental, only the periods containing `touched_days`
  are made, each from rows of its own: the days of a touched week or month, the month rows of a
  touched year (recomputed ones plus the others already in this table: the pre-hook deleted the
  touched ones), the year rows of a touched key for all time. So a build reads at most a month of
  days, twelve months and a row per year for each touched key, whatever the history.
  Weeks/months and years are MATERIALIZED CTEs (computed once, though read twice): the model
  needs query_settings={'enable_materialized_cte': 1}.
  The daily table's `day_key_column` (day_key() of the key columns) is looked up instead of
  the columns, and each period row gets its period_key (period_key()).
-#}
{% macro calendar_periods(daily, key_columns, touched_days, day_key_column) -%}
{%- set keys = key_columns | join(', ') -%}
with
{%- if is_incremental() %}
touched as (
    {{ touched_periods(touched_days, key_columns) }}
),
{%- endif %}

weeks_and_months as materialized (
    select {{ keys }}, period, {{ period_start('period', 'day') }} as period_start, {{ summed_measures() }}
    from (
        select {{ keys }}, day, {{ measure_sum_columns() }}
        from {{ daily }}
        {%- if is_incremental() %}
        where {{ day_key_column }} in (
            select {{ day_key(key_columns) }} from ({{ days_of_touched_weeks_and_months(key_columns) }})
        )
        {%- endif %}
    )
    array join ['week', 'month'] as period
    group by {{ keys }}, period, period_start
    {%- if is_incremental() %}
    -- a touched week's days may fall in an untouched month, and the other way round
    having ({{ keys }}, period, period_start) in (select {{ keys }}, period, period_start from touched)
    {%- endif %}
),

months as (
    select {{ keys }}, period_start, {{ measure_sum_columns() }} from weeks_and_months where period = 'month'
    {%- if is_incremental() %}
    union all
    select {{ keys }}, period_start, {{ measure_sum_columns() }}
    from {{ this }}
    where period_key in (
        select {{ period_key(key_columns, "'month'", 'addMonths(period_start, month_number)') }}
        from touched
        array join range(12) as month_number
        where period = 'year'
    )
    {%- endif %}
),

years as materialized (
    select {{ keys }}, 'year' as period, toStartOfYear(period_start) as period_start, {{ summed_measures() }}
    from months
    group by {{ keys }}, period_start
),

all_time as (
    select {{ keys }}, 'all' as period, toDate('1970-01-01') as period_start, {{ summed_measures() }}
    from (
        select {{ keys }}, {{ measure_sum_columns() }} from years
        {%- if is_incremental() %}
        union all
        select {{ keys }}, {{ measure_sum_columns() }}
        from {{ this }}
        where period = 'year' and ({{ keys }}) in (select {{ keys }} from touched where period = 'all')
        {%- endif %}
    )
    group by {{ keys }}
)

select
    {{ keys }},
    CAST(period, 'LowCardinality(String)') as period,
    period_start,
    {{ measure_sum_columns() }},
    {{ measure_averages() }},
    {{ period_key(key_columns) }} as period_key
from (
    select * from weeks_and_months
    union all
    select * from years
    union all
    select * from all_time
)
{%- endmacro %}
