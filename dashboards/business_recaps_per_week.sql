-- Recap e-mails per week (Monday, UTC, of the delivery's first attempt) and recap period: sent, failed
-- (after up to 5 attempts), pending (being sent, or in doubt after a crash). From the control plane.
SELECT
    toMonday(created_at)               AS week,
    period_kind,
    countIf(status = 'sent')           AS delivered,
    countIf(status = 'failed')         AS failed,
    countIf(status = 'pending')        AS pending
FROM analytics_staging.stg_app__recap_deliveries
GROUP BY week, period_kind
ORDER BY week, period_kind
