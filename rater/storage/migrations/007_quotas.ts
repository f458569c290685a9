// Quota state, crossings and webhook alerts (docs/quotas.md). A crossing row is the proof that a
// threshold fired: its primary key makes the insert succeed once per rule, subject, window and
// level across restarts, duplicate batches and replicas, and the alert deliveries it causes are
// written in the same transaction, so an alert exists exactly when its crossing does.
import type { Migration } from './types.ts';

export const quotas: Migration = {
  version: 7,
  name: 'quotas',
  async up(sql) {
    await sql.exec(`
      -- The last decision per rule and subject ('device:ID' or 'account:ID'). episode_start is
      -- the window a crossing is keyed on: the period start, or for a rolling window the start
      -- of the stretch since the quota was last ok (a rolling window moves every 5 minutes).
      CREATE TABLE quota_state (
        rule_key      text        NOT NULL,
        subject       text        NOT NULL,
        window_start  timestamptz NOT NULL,
        window_end    timestamptz NOT NULL,
        episode_start timestamptz NOT NULL,
        used          numeric     NOT NULL,
        level         int         NOT NULL,
        state         text        NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (rule_key, subject)
      );
      CREATE INDEX quota_state_attention ON quota_state (state, window_end);

      -- Thresholds crossed (quota rules and projected-bill alerts, rule_key 'bill:AMOUNT').
      CREATE TABLE quota_crossings (
        rule_key     text        NOT NULL,
        subject      text        NOT NULL,
        window_start timestamptz NOT NULL,
        level        int         NOT NULL,
        event        json        NOT NULL,
        crossed_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (rule_key, subject, window_start, level)
      );

      CREATE TABLE webhook_endpoints (
        endpoint_id text        PRIMARY KEY,
        url         text        NOT NULL,
        events      text[]      NOT NULL,
        account_id  text,
        secret      text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      );

      -- The outbox: one row per endpoint and event, claimed by dispatchers with SKIP LOCKED.
      CREATE TABLE alert_deliveries (
        delivery_id  text        PRIMARY KEY,
        endpoint_id  text        NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
        event_type   text        NOT NULL,
        body         text        NOT NULL,
        status       text        NOT NULL DEFAULT 'pending',
        attempts     int         NOT NULL DEFAULT 0,
        next_at      timestamptz NOT NULL DEFAULT now(),
        last_code    int,
        last_error   text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        finished_at  timestamptz
      );
      CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE status = 'pending';
      CREATE INDEX alert_deliveries_endpoint ON alert_deliveries (endpoint_id, created_at);

      CREATE TABLE alert_attempts (
        delivery_id text        NOT NULL REFERENCES alert_deliveries ON DELETE CASCADE,
        attempt     int         NOT NULL,
        at          timestamptz NOT NULL DEFAULT now(),
        code        int,
        error       text,
        PRIMARY KEY (delivery_id, attempt)
      );
    `);
  },
};
