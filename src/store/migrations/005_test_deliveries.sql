-- A test send (POST /v2/webhooks/{id}/test) is recorded in the delivery log like any delivery, marked as a test:
-- one attempt, never retried, never redelivered or recovered, and it never changes its subscription.
ALTER TABLE webhook_deliveries ADD COLUMN is_test boolean NOT NULL DEFAULT false;
