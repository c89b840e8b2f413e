{#-
  The batch of one build: raw events received in [batch_start, batch_end).

  Dagster passes the UTC days of its daily partitions as vars min_day/max_day (inclusive), so a
  backfill of a day range re-processes exactly those days. Without them a build catches up from
  the last build's watermark (less a margin for late inserts) to now.

  Incremental models never process "the batch's rows" directly: they recompute every key the
  batch touches (a signal, a visitor's signals on a content, a content-day, a period) from all
  of its rows, so re-running any batch gives the same tables (idempotent backfills).
-#}

{% macro batch_start() -%}
  {%- if var('min_day') -%}
    toDateTime64('{{ var("min_day") }}', 3, 'UTC')
  {%- else -%}
    ({{ previous_watermark() }} - toIntervalMinute({{ var('late_arrival_minutes') }}))
  {%- endif -%}
{%- endmacro %}

{% macro batch_end() -%}
  {%- if var('max_day') -%}
    (toDateTime64('{{ var("max_day") }}', 3, 'UTC') + toIntervalDay(1))
  {%- else -%}
    toDateTime64('2299-12-31 00:00:00', 3, 'UTC')
  {%- endif -%}
{%- endmacro %}

{% macro in_batch(column='received_at') -%}
  {{ column }} >= {{ batch_start() }} and {{ column }} < {{ batch_end() }}
{%- endmacro %}

{#- The watermark of the builds so far: every raw event received up to it is in the marts. -#}
{% macro previous_watermark() -%}
  {%- set relation = adapter.get_relation(database=none, schema=target.schema, identifier='build_watermarks') if execute else none -%}
  {%- if relation is not none -%}
    (select coalesce(max(max_received_at), toDateTime64(0, 3, 'UTC')) from {{ relation }})
  {%- else -%}
    toDateTime64(0, 3, 'UTC')
  {%- endif -%}
{%- endmacro %}

{#- The watermark this build reaches: the newest event in staging, every one of which went through
    the build that loaded it. Read from part metadata (min/max of the partition key column). -#}
{% macro build_watermark() -%}
  (select max(received_at) from {{ ref('stg_feedback_events') }})
{%- endmacro %}


{#- Keys touched by the batch, from the finest to the coarsest.

  Every lookup and delete below matches ONE column: signal_id (a UUID, unique across projects) or
  a row key (`row_key`: 128 bits of sipHash over a grain's columns, as unique as a UUID). Matching
  a tuple of string columns hashes every row's tuple: at 8M rows a lightweight DELETE by a
  5-column tuple took 5.8 s, by one 128-bit key 0.3 s; a SELECT 1.7 s against 0.06 s.
-#}

{#- One value per row of a grain, stored beside its columns so lookups and deletes match it alone. -#}
{% macro row_key(columns) -%}
  reinterpretAsUInt128(sipHash128({{ columns | join(', ') }}))
{%- endmacro %}

{#- Signals with an operation in the batch (created, edited or revoked). -#}
{% macro batch_signal_ids() -%}
  select distinct signal_id
  from {{ ref('stg_feedback_events') }}
  where {{ in_batch() }}
{%- endmacro %}

{#- Every visitor whose signals on a content the batch touched: one-per-visitor decides between
    them, so they are recomputed together. Read from the lifecycle rows this build just made. -#}
{% macro batch_visitor_groups() -%}
  select distinct visitor_group_key
  from {{ ref('int_signal_lifecycle') }}
  where signal_id in ({{ batch_signal_ids() }})
{%- endmacro %}

{#- The batch's reach, computed once per build into int_batch_signals (every signal of the visitor
    groups above, with its creation day): the keys each later model recomputes. -#}

{#- Every signal of those groups (live, superseded or revoked): the rows of int_signal_current_state
    and fct_signals to redo. -#}
{% macro batch_group_signals() -%}
  select signal_id from {{ ref('int_batch_signals') }}
{%- endmacro %}

{#- The content-days those signals count on. A signal counts on the day it was created, so an
    edit or revoke today changes the day the signal was created. -#}
{% macro batch_content_days() -%}
  select distinct project_id, content_set, content_key, signal_type, created_day as day, content_day_key
  from {{ ref('int_batch_signals') }}
{%- endmacro %}

{#- The row key of a day-grained row: its key columns, then the day. -#}
{% macro day_key(key_columns, day='day') -%}
  {{ row_key(key_columns + [day]) }}
{%- endmacro %}

{#- The row key of a content-day: agg_content_daily's grain, also stored in fct_signals. -#}
{% macro content_day_key(day='day') -%}
  {{ day_key(['project_id', 'content_set', 'content_key', 'signal_type'], day) }}
{%- endmacro %}


{#-
  Pre-hook of the "recompute touched keys" models: delete the touched keys, then the model
  appends their recomputed rows. A key whose rows all disappeared (every signal revoked) is
  deleted and not re-inserted, which dbt-clickhouse's delete+insert cannot do (it deletes only
  keys present in the new rows). The keys are computed once into a scratch table: a DELETE
  mutation would evaluate its subquery again for every part. `key_expression` computes the key
  from the columns of `keys_sql` when they do not carry it. Nothing to do on a first or
  full-refresh build; a table built before its key column existed stops the build with a message
  that asks for one full refresh.

  A lightweight DELETE is a mutation that reads `key_column` of every row of the table, so the
  key is one column (see row_key). Each part of the table also costs a fixed share (0.05-0.1 s
  here, whether or not it holds a touched key), so these tables are not partitioned: a partition
  per year multiplied the parts, and so the cost, with the years of history. (Patch-part deletes,
  lightweight_delete_mode = 'lightweight_update', cost only the rows they find, but BACKUP leaves
  patch parts out: ClickHouse issue #116677, so a restore would bring deleted rows back.)
-#}
{% macro delete_touched_keys(key_column, keys_sql, key_expression=none) -%}
  {%- if is_incremental() -%}
    {%- if key_column not in adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
      {{ exceptions.raise_compiler_error(
          this ~ " has no column " ~ key_column ~ ": it was built by an older version of this model. Rebuild it "
          ~ "once with `dbt build --full-refresh` (see dbt_project/README.md), then builds are incremental again.") }}
    {%- endif -%}
    {%- set touched = this.incorporate(path={"identifier": this.identifier ~ "__dbt_tmp_touched"}) -%}
    {%- do run_query("drop table if exists " ~ touched) -%}
    {%- do run_query("create table " ~ touched ~ " engine = Memory as select distinct " ~ (key_expression or key_column) ~ " as " ~ key_column ~ " from (" ~ keys_sql ~ ")") -%}
    {%- do run_query("delete from " ~ this ~ " where " ~ key_column ~ " in (select " ~ key_column ~ " from " ~ touched ~ ")") -%}
    {%- do run_query("drop table " ~ touched) -%}
    select 'deleted the touched keys of {{ this }}'
  {%- else -%}
    select 'first build: nothing to delete'
  {%- endif -%}
{%- endmacro %}

{% macro batch_set_days() -%}
  select distinct project_id, content_set, day, signal_type from ({{ batch_content_days() }})
{%- endmacro %}
