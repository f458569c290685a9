// Device clock skew (docs/devices.md#clock-skew): each record's device time minus the
// collector's receive time, in signed milliseconds, stored with the record at ingest.
import type { Migration } from './types.ts';

export const clockSkew: Migration = {
  version: 3,
  name: 'clock_skew',
  async up(sql) {
    // Nullable and without a default, so adding it rewrites no rows: records stored before this
    // migration keep NULL (their skew is still ts − received_at) and are never listed as skewed.
    await sql.exec(`
      ALTER TABLE usage_records ADD COLUMN clock_skew_ms bigint;
      COMMENT ON COLUMN usage_records.clock_skew_ms IS
        'ts minus received_at in ms: positive when the device clock was ahead of the collector';
    `);
  },
};
