// The billing catalog: plan versions, accounts, and the two append-only histories (an account's
// plans, a device's accounts) that rating/segments.ts cuts a period into segments with.
// Effective times are timestamptz (microsecond resolution, so epoch milliseconds stay exact);
// `seq` orders the rows of one history and breaks ties between equal effective times (the later
// row wins, as in rating/segments.ts).
import type { Migration } from './types.ts';

export const catalog: Migration = {
  version: 2,
  name: 'catalog',
  async up(sql) {
    await sql.exec(`
      -- Each version is the validated Plan (validatePlan's output) as a JSON document, written
      -- canonicalised (catalog-rules.ts canonicalJson: keys sorted, undefined members left out)
      -- and compared in that form, so whether two documents are the same plan never depends on
      -- key order. The order jsonb reads keys back in therefore does not matter either; neither
      -- the order a plan was written in nor a stored one is kept.
      CREATE TABLE plan_versions (
        plan_id    text        NOT NULL,
        version    int         NOT NULL CHECK (version >= 1),
        document   jsonb       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (plan_id, version)
      );

      -- Currency and time zone are fixed once set: past invoices depend on them.
      CREATE TABLE accounts (
        account_id text        PRIMARY KEY,
        name       text,
        currency   text        NOT NULL,
        time_zone  text        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      -- An account's plan history: rows are appended, never updated.
      CREATE TABLE account_plans (
        account_id   text        NOT NULL REFERENCES accounts (account_id),
        seq          int         NOT NULL,
        plan_id      text        NOT NULL,
        effective_at timestamptz NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, seq)
      );
      CREATE INDEX account_plans_plan ON account_plans (plan_id);

      -- A device's assignment history: account_id NULL = in no account from then on; plan_id
      -- NULL = the account's plan, otherwise a device-level override.
      CREATE TABLE device_assignments (
        device_id    text        NOT NULL,
        seq          int         NOT NULL,
        account_id   text        REFERENCES accounts (account_id),
        plan_id      text,
        effective_at timestamptz NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (device_id, seq),
        CHECK (account_id IS NOT NULL OR plan_id IS NULL)
      );
      CREATE INDEX device_assignments_account ON device_assignments (account_id);
    `);
  },
};
