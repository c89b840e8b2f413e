{#- Recap deliveries replicated from the control plane: one row per (project, period, recipient), the
    recipient left behind in the control plane. -#}
select
    CAST(id, 'UInt64') as delivery_id,
    CAST(project_id, 'LowCardinality(String)') as project_id,
    CAST(period_kind, 'LowCardinality(String)') as period_kind,
    CAST(period_start, 'Date') as period_start,
    CAST(status, 'LowCardinality(String)') as status,
    CAST(attempts, 'UInt16') as attempts,
    toDateTime64(sent_at, 3, 'UTC') as sent_at,
    toDateTime64(created_at, 3, 'UTC') as created_at
from {{ replicated('recap_deliveries', {
    'id': 'Int64', 'project_id': 'String', 'period_kind': 'String', 'period_start': 'Date', 'status': 'String',
    'attempts': 'Int64', 'sent_at': 'Nullable(DateTime64(6))', 'created_at': 'DateTime64(6)'}) }}
