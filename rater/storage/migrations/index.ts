// Every migration, in version order. Append new ones here.
import type { Migration } from './types.ts';
import { initial } from './001_initial.ts';
import { catalog } from './002_catalog.ts';
import { clockSkew } from './003_clock_skew.ts';
import { issuedInvoices } from './004_issued_invoices.ts';
import { auditLog } from './005_audit_log.ts';
import { quotaLog } from './006_quota_log.ts';
import { quotas } from './007_quotas.ts';
import { recordsTimeIndex } from './008_records_time_index.ts';

export type { Migration, MigrationCaps } from './types.ts';

export const MIGRATIONS: readonly Migration[] = [
  initial,
  catalog,
  clockSkew,
  issuedInvoices,
  auditLog,
  quotaLog,
  quotas,
  recordsTimeIndex,
];

export const LATEST_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);
