-- Core tables: users, booking pages and the idempotency keys that make booking creation retry-safe.
-- `seq` gives list pagination a total, insertion-ordered key (created_at can tie; ids are random).

CREATE TABLE users (
  seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id         text PRIMARY KEY CHECK (id LIKE 'USR-%'),
  name       text NOT NULL,
  email      text NOT NULL,
  timezone   text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One user per email: Salesforce owner matching and notifications go by email.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE booking_pages (
  seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id            text PRIMARY KEY CHECK (id LIKE 'BP-%'),
  name          text NOT NULL,
  -- RESTRICT: a user who still owns pages cannot be deleted (the API answers 409).
  owner_user_id text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  mode          text NOT NULL CHECK (mode IN ('automatic', 'approval')),
  salesforce    jsonb NOT NULL CHECK (
    jsonb_typeof(salesforce -> 'connected') = 'boolean'
    AND jsonb_typeof(salesforce -> 'create_activity_event') = 'boolean'
    AND jsonb_typeof(salesforce -> 'create_missing_record') = 'boolean'
    AND salesforce ->> 'relate_to' IN ('lead', 'contact', 'case')
  ),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX booking_pages_owner_idx ON booking_pages (owner_user_id);

CREATE TABLE idempotency_keys (
  scope        text NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  resource_id  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
