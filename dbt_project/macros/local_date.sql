{#- The calendar date of a UTC timestamp in a time zone held in a column. ClickHouse's toDate and
    toTimeZone need a constant zone; formatDateTime takes one per row. -#}
{% macro local_date(timestamp, timezone) -%}
  toDate(formatDateTime({{ timestamp }}, '%F', {{ timezone }}))
{%- endmacro %}
