{#- Content sets as replicated from the control plane, with the rules dbt applies. -#}
select
    CAST(project_id, 'LowCardinality(String)') as project_id,
    CAST(key, 'LowCardinality(String)') as content_set,
    name as content_set_name,
    CAST(signal_type, 'LowCardinality(String)') as signal_type,
    config,
    one_per_visitor,
    edit_window_seconds,
    public_stats
from {{ source('raw_app', 'content_sets') }}
