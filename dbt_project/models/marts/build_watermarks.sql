{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    engine='MergeTree()',
    order_by=['built_at'],
  )
}}
{#-
  One row per build, written after every mart: the marts hold exactly the raw events received
  up to max_received_at (bots and retries aside). The stats API adds raw events received after
  max(max_received_at) to them. Kept across full refreshes.
-#}
-- depends_on: {{ ref('agg_content_rolling') }}
-- depends_on: {{ ref('agg_content_set_rolling') }}
-- depends_on: {{ ref('agg_content_period') }}
-- depends_on: {{ ref('agg_content_set_period') }}
select
    CAST('{{ invocation_id }}', 'String') as invocation_id,
    now64(3, 'UTC') as built_at,
    {%- for name in ['min_day', 'max_day'] %}
    {%- if var(name) %}
    toNullable(toDate('{{ var(name) }}')) as {{ name }},
    {%- else %}
    CAST(NULL, 'Nullable(Date)') as {{ name }},
    {%- endif %}
    {%- endfor %}
    CAST({{ build_watermark() }}, 'DateTime64(3, \'UTC\')') as max_received_at
