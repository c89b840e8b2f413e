{#- A control-plane table replicated by dlt into raw_app, or, while it has never had a row (dlt creates a
    table only once it has seen data: no recap delivered yet, no export asked for), an empty stand-in of
    the columns the model reads, with the types dlt gives them. The model's view reads the real table
    from the first build after its first row; the Dagster job replicates before it builds. -#}
{% macro replicated(table, columns) -%}
  {%- set relation = source('raw_app', table) -%}
  {%- if execute and adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) is none -%}
    (select * from null('{% for name, type in columns.items() %}{{ name }} {{ type }}{{ ", " if not loop.last }}{% endfor %}'))
  {%- else -%}
    {{ relation }}
  {%- endif -%}
{%- endmacro %}
