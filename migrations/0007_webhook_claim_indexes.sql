-- The claim walks pending rows in (next_attempt_at, id) order and skips a row while an earlier
-- event of the same call is still pending. With only an index on next_attempt_at the planner
-- sorted the whole backlog and hash-joined it against itself on every claim: 20 ms per claim
-- at 5,000 pending rows, growing with the backlog. These two partial indexes let it stop after
-- the batch it needs (about 1 ms at the same backlog).
DROP INDEX webhook_outbox_due;
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_outbox_pending_call ON webhook_outbox (call_uuid, id) WHERE status = 'pending';
