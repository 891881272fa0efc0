-- Webhook subscriptions, their deliveries and every delivery attempt.
-- Subscriptions are soft-deleted so old deliveries keep their foreign key; a name is unique among the
-- subscriptions that are not deleted. `seq` orders lists (ids are random).

CREATE TABLE webhook_subscriptions (
  seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id              text PRIMARY KEY CHECK (id LIKE 'WHK-%'),
  name            text NOT NULL,
  url             text NOT NULL,
  events          text[] NOT NULL CHECK (cardinality(events) > 0),
  -- Kept in clear: signing needs it. Returned only by create and rotate-secret.
  secret          text NOT NULL CHECK (secret ~ '^[0-9a-f]{32}$'),
  enabled         boolean NOT NULL DEFAULT true,
  disabled_reason text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz
);
CREATE UNIQUE INDEX webhook_subscriptions_name_key ON webhook_subscriptions (name) WHERE deleted_at IS NULL;
-- Event routing asks "which live subscriptions name this type or its composite".
CREATE INDEX webhook_subscriptions_events_idx ON webhook_subscriptions USING gin (events) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  -- Derived from (event id, subscription id) when routed, random for redeliveries; also the workflow id.
  id               text PRIMARY KEY CHECK (id LIKE 'DLVR-%'),
  subscription_id  text NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE RESTRICT,
  event_id         text NOT NULL,
  event_type       text NOT NULL,
  -- json, not jsonb: keeps the envelope's text (key order) so a redelivery sends the same bytes.
  payload          json NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  -- Why a failed delivery stopped (410, schedule exhausted, subscription inactive, forbidden target).
  failure_reason   text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  redelivery_of    text REFERENCES webhook_deliveries (id) ON DELETE SET NULL
);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, seq);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_redelivery_idx ON webhook_deliveries (redelivery_of) WHERE redelivery_of IS NOT NULL;

CREATE TABLE webhook_delivery_attempts (
  delivery_id    text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt_number integer NOT NULL CHECK (attempt_number >= 1),
  started_at     timestamptz NOT NULL,
  -- Null when no answer came (refused, timed out, blocked).
  status_code    integer,
  latency_ms     integer NOT NULL,
  error          text,
  PRIMARY KEY (delivery_id, attempt_number)
);
