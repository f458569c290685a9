// What the rating engine takes and gives. The engine is pure: storage gathers a RatingInput
// (catalog + the period's rollups), `rateAccount` turns it into an Invoice. Money, quantities
// and rates are decimal strings in the output; byte counts are integers.
import type { PlanVersion } from './plan.ts';

export interface Account {
  id: string;
  name?: string;
  currency: string;
  /** IANA time zone; billing periods are calendar months here. */
  timeZone: string;
}

/** A calendar month in the account's time zone, [startMs, endMs). */
export interface BillingPeriod {
  /** YYYY-MM */
  label: string;
  startMs: number;
  endMs: number;
  /** Calendar days in the month (28-31). */
  days: number;
}

/**
 * One exact 5-minute rollup row of one device (usage_5m) — or, in an input with `peaks`, the sum
 * of several rows of one device, segment and dims key (see RatingInput.peaks).
 */
export interface Sample {
  /** Start of the 5-minute bucket, epoch ms (of a summed sample: its earliest bucket). */
  bucketMs: number;
  dims: Record<string, string>;
  /** A canonical key of `dims` (usage_5m.dims_key), to cache filter decisions; optional. */
  dimsKey?: string;
  up: number;
  down: number;
  records: number;
  /** Other meters' sums as exact decimal strings. */
  meters: Record<string, string>;
}

/** One raw record, needed only by charges that round each record (rounding.per_record). */
export interface RawRecord {
  /** End of the measured interval; a record rounded per record is rated whole at this time. */
  tsMs: number;
  dims: Record<string, string>;
  up: number;
  down: number;
  meters: Record<string, string>;
}

/** A stretch of the period during which the device belonged to this account under one plan version. */
export interface Segment {
  fromMs: number;
  toMs: number;
  planId: string;
  planVersion: number;
}

export interface DeviceInput {
  deviceId: string;
  /** Sorted, non-overlapping, inside the period (clipped to `asOfMs` for an open period). */
  segments: Segment[];
  /** The device's rollup rows inside the period, any order. */
  samples: Sample[];
  /** Raw records inside the period; present when a plan in use rounds per record. */
  records?: RawRecord[];
}

export interface RatingInput {
  account: Account;
  period: BillingPeriod;
  /** For the current, still open period: usage is known up to here; a projection is added. */
  asOfMs?: number;
  /**
   * The account's own plan timeline over the period (for per-account fees and limits), built
   * like device segments. Default: each plan version's span among the device segments.
   */
  accountSegments?: Segment[];
  /** Every plan version a segment names, keyed `${id}@${version}`. */
  plans: Record<string, PlanVersion>;
  devices: DeviceInput[];
  /**
   * Peak series reduced where the rollups are (storage sums them in SQL; see peak.ts
   * `summarizeSeries` for the same reduction of a series). When present, every peak charge takes
   * its figure from here and devices' samples may be sums: a sample then stands for all rollups
   * of one device, segment and dims key, which rates the same only when no charge looks at the
   * time of day of a sample — no window filters and no daily_peak_avg in any plan version
   * (`summarizable`). A peak charge with no entry for a device has no samples there.
   */
  peaks?: PeakInput[];
}

/** One peak charge's series of one plan version, for one device or (no `device`) the account. */
export interface PeakInput {
  /** `${id}@${version}` */
  plan: string;
  charge: string;
  device?: string;
  summary: PeakSummary;
}

/**
 * What a percentile or max figure needs of a 5-minute series: how many intervals were observed
 * and, per direction (in = down, out = up, sum = both per interval), its largest byte counts,
 * largest first — at least `topNeeded(percentile, observed)` of them.
 */
export interface PeakSummary {
  observed: number;
  top: Partial<Record<'in' | 'out' | 'sum', number[]>>;
}

export type LineKind = 'usage' | 'peak' | 'fixed' | 'minimum' | 'cap' | 'adjustment';

export interface PeakFigure {
  method: 'percentile' | 'max' | 'daily_peak_avg';
  direction: 'in' | 'out' | 'max' | 'sum';
  /** The rate in bits per second, to 0.001 bps (half-even); pricing uses the full rate. */
  rate_bps: string;
  /** Samples with data vs 5-minute intervals in the span rated. */
  samples_observed: number;
  samples_expected: number;
  /** Nearest rank used (percentile only): k = ceil(p/100 × observed). */
  rank?: number;
  /** Direction max: the direction whose figure was higher (ties: in). */
  selected?: 'in' | 'out';
}

export interface InvoiceLine {
  /** 1-based, in invoice order. */
  line: number;
  kind: LineKind;
  charge: string;
  description: string;
  /** Device the line belongs to; absent for account-level lines. */
  device?: string;
  plan: string;
  plan_version: number;
  /** ISO instants of the span this line rates. */
  from: string;
  to: string;
  /** up, down, total, meters.NAME for usage; the direction for peak. */
  meter?: string;
  /** Tier label for graduated/volume lines ("0-1 GB", "1 GB+"). */
  tier?: string;
  /** Measured quantity in base units (bytes, count, bits per second) before allowance and rounding. */
  raw_quantity: string;
  /** Quantity priced, in `unit`, after rounding and allowance. */
  rated_quantity: string;
  unit: string;
  unit_price: string;
  /** Rounded to the currency's minor unit. */
  amount: string;
  /** Allowance applied to this line, in `unit` (usage with `included`). */
  included?: string;
  peak?: PeakFigure;
  /** Adjustment lines: the earlier, already issued period whose late usage this line bills. */
  adjusts?: string;
  /** Active days used for proration, of the period's days. */
  prorated_days?: number;
}

export interface DeviceSummary {
  device: string;
  active: boolean;
  /** Days assigned to the account in the period (the day of a move belongs to the new assignment). */
  assigned_days: number;
  up: number;
  down: number;
  total: number;
  records: number;
  /** Sum of the lines of this device plus its share of account-scope lines. */
  amount: string;
}

export interface Invoice {
  account: string;
  period: string;
  currency: string;
  time_zone: string;
  period_start: string;
  period_end: string;
  /** closed: the period has ended; open: the current period so far. */
  /**
   * open: the current period so far; closed: the period has ended (rated on request);
   * issued: the stored snapshot of a closed period, never rewritten (late usage for it is
   * billed as adjustment lines on the next invoice).
   */
  status: 'closed' | 'open' | 'issued';
  issued_at?: string;
  as_of?: string;
  plans: Array<{ plan: string; version: number; from: string; to: string }>;
  lines: InvoiceLine[];
  devices: DeviceSummary[];
  active_devices: number;
  /**
   * Account-scope lines (no `device`) split over the devices rated under them, in proportion to
   * their bytes in that plan version (evenly when none), by largest remainder: the parts are
   * whole minor units and add up to the line's amount.
   */
  allocations: Array<{ line: number; device: string; amount: string }>;
  /** Sum of the (rounded) line amounts. */
  total: string;
  /** Open periods: the bill if usage continues at the pace so far until the period ends. */
  projected_total?: string;
  /** Open periods: usage so far against each allowance. */
  allowances?: Array<{
    charge: string;
    device?: string;
    used: string;
    included: string;
    unit: string;
  }>;
}

/** Per-device view of an invoice: the device's own lines plus its share of account-scope lines. */
export interface DeviceCharges {
  device: string;
  account: string;
  period: string;
  currency: string;
  status: 'closed' | 'open' | 'issued';
  lines: InvoiceLine[];
  /** Account-scope lines split over devices in proportion to their usage (largest remainder). */
  shares: Array<{ line: number; charge: string; amount: string }>;
  total: string;
}
