{#- Projects as replicated from the control plane; only what analysis needs. -#}
select
    CAST(id, 'LowCardinality(String)') as project_id,
    name as project_name,
    timezone,
    retention_days,
    created_at
from {{ source('raw_app', 'projects') }}
