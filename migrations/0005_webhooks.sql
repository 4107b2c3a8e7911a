-- Webhook delivery: the outbox sketched in 0001 made workable.

-- The exact body that is signed and sent. Kept as text because jsonb reorders keys and
-- whitespace, and every retry must carry the same bytes; `payload` stays for queries.
ALTER TABLE webhook_outbox ADD COLUMN body text;
UPDATE webhook_outbox SET body = payload::text WHERE body IS NULL;
ALTER TABLE webhook_outbox ALTER COLUMN body SET NOT NULL;

-- Every event belongs to a call, and a call has at most one event of each type, so a
-- completion processed twice (an ESL event and a CDR racing, a retried transaction) cannot
-- enqueue a second webhook.
ALTER TABLE webhook_outbox ALTER COLUMN call_uuid SET NOT NULL;
ALTER TABLE webhook_outbox
    ADD CONSTRAINT webhook_outbox_call_event UNIQUE (call_uuid, event_type);

-- pending: waiting for (or in) an attempt; delivered: a 2xx came back; failed: the retry
-- window passed, the attempt cap was reached, or the receiver answered 410 Gone.
ALTER TABLE webhook_outbox
    ADD CONSTRAINT webhook_outbox_status CHECK (status IN ('pending', 'delivered', 'failed'));

-- Start of the retry window: the enqueue time, or the time an operator asked to redeliver.
ALTER TABLE webhook_outbox ADD COLUMN retry_from timestamptz NOT NULL DEFAULT now();

-- The due index of 0001 also serves delivered/failed rows; the worker only scans pending ones.
DROP INDEX webhook_outbox_due;
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';

CREATE INDEX webhook_attempts_outbox ON webhook_attempts (outbox_id, id);
