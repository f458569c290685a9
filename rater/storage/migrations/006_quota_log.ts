// The quota change log (rater/quota/log.ts): every change of a device's quota status, in one
// sequence collectors stream from and resume after. The status is stored without its seq (the
// column is the truth) and as json, not jsonb: it goes out to devices as written.
import type { Migration } from './types.ts';

export const quotaLog: Migration = {
  version: 6,
  name: 'quota_log',
  async up(sql) {
    await sql.exec(`
      CREATE TABLE quota_changes (
        seq        bigserial   PRIMARY KEY,
        device_id  text        NOT NULL,
        status     json        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX quota_changes_device_seq ON quota_changes (device_id, seq);
    `);
  },
};
