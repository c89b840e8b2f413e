{#- Export requests replicated from the control plane: what was asked for and how it ended, without the
    filters, the file or the error. -#}
select
    CAST(id, 'UInt64') as export_id,
    CAST(project_id, 'LowCardinality(String)') as project_id,
    CAST(format, 'LowCardinality(String)') as format,
    CAST(status, 'LowCardinality(String)') as status,
    toDateTime64(created_at, 3, 'UTC') as created_at,
    toDateTime64(finished_at, 3, 'UTC') as finished_at
from {{ replicated('export_requests', {
    'id': 'Int64', 'project_id': 'String', 'format': 'String', 'status': 'String',
    'created_at': 'DateTime64(6)', 'finished_at': 'Nullable(DateTime64(6))'}) }}
