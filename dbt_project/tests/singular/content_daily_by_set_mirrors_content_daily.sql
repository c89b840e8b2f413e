{{ config(meta={"dagster": {"ref": {"name": "agg_content_daily_by_set"}}}) }}
-- agg_content_daily_by_set holds exactly the rows of agg_content_daily.
with by_content as (
    select project_id, content_set, content_key, day, signal_type, signals, value_sum, value_counts
    from {{ ref('agg_content_daily') }}
),

by_set as (
    select project_id, content_set, content_key, day, signal_type, signals, value_sum, value_counts
    from {{ ref('agg_content_daily_by_set') }}
)

select 'missing from by_set' as problem, * from (select * from by_content except select * from by_set)
union all
select 'only in by_set' as problem, * from (select * from by_set except select * from by_content)
