-- Idempotency keys also cover booking and conversation actions: the first answer is kept, so a retry with the
-- same key gets it back verbatim (even once the run has closed) instead of applying the action again.
ALTER TABLE idempotency_keys ADD COLUMN answer jsonb;
