-- /metrics reads the webhook backlog on every scrape: pending events (and the oldest of
-- them) come from the partial index of 0005's scan shape; failed ones get their own partial
-- index so counting them never scans the delivered rows, which are most of the table.
CREATE INDEX webhook_outbox_pending_age ON webhook_outbox (created_at) WHERE status = 'pending';
CREATE INDEX webhook_outbox_failed ON webhook_outbox (created_at) WHERE status = 'failed';
