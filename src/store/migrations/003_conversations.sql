-- Conversations as the API knows them: enough to find a visitor's open conversation when the visitor starts
-- one with another bot (the earlier one is then closed). The conversation itself lives in its workflow.
-- `status` is only the API's view: 'open' until the API closes it. A conversation abandoned by silence
-- stays 'open' here; closing it again is a no-op in its workflow (or it has already finished).

CREATE TABLE conversations (
  seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id         text PRIMARY KEY CHECK (id LIKE 'CVR-%'),
  -- The visitor's `visitor_id`, else the contact's email in lower case; null when neither was given.
  visitor_id text,
  bot_id     text NOT NULL,
  status     text NOT NULL CHECK (status IN ('open', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_open_visitor_idx ON conversations (visitor_id) WHERE status = 'open';
