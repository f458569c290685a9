// Exact decimal arithmetic for the money path. One Decimal constructor with 60 significant
// digits (no JS floating point anywhere): quantities in bytes fit with room to spare, unit
// conversions (1/1024^n) are finite decimals, and the only inexact step, a rate's bytes × 8 /
// 300, is carried at 60 digits and then rounded by the plan's stated rule.
import { Decimal } from 'decimal.js';
import type { RoundingMode } from './plan.ts';

export const Dec = Decimal.clone({
  precision: 60,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -60,
  toExpPos: 60,
});
export type Dec = InstanceType<typeof Dec>;

export const ZERO = new Dec(0);

const MODES: Record<RoundingMode, Decimal.Rounding> = {
  up: Decimal.ROUND_UP,
  down: Decimal.ROUND_DOWN,
  half_up: Decimal.ROUND_HALF_UP,
  half_even: Decimal.ROUND_HALF_EVEN,
};

/** Rounds to `decimals` places; `up`/`down` are away from / towards zero. */
export function roundTo(v: Dec, decimals: number, mode: RoundingMode): Dec {
  return v.toDecimalPlaces(decimals, MODES[mode]);
}

/** Rounds to a multiple of `increment` (> 0). */
export function roundToIncrement(v: Dec, increment: Dec, mode: RoundingMode): Dec {
  return v.dividedBy(increment).toDecimalPlaces(0, MODES[mode]).times(increment);
}

export function sum(values: Iterable<Dec>): Dec {
  let s = ZERO;
  for (const v of values) s = s.plus(v);
  return s;
}

/** A plain decimal string without exponent or trailing zeros ("1.5", "0", "1024"). */
export function plain(v: Dec): string {
  return v.toFixed();
}

/** Money to the currency's minor unit ("12.30", "1200" for JPY). */
export function money(v: Dec, decimals: number): string {
  return v.toFixed(decimals);
}

/**
 * Splits `total` (already in minor-unit precision) over `weights` by the largest-remainder
 * method: the parts are multiples of the minor unit and add up to `total` exactly. Ties go to
 * the earlier entry; zero total weight splits evenly.
 */
export function allocate(total: Dec, weights: Dec[], decimals: number): Dec[] {
  if (weights.length === 0) return [];
  const unit = new Dec(1).dividedBy(new Dec(10).pow(decimals));
  const units = total.dividedBy(unit); // an integer: total has `decimals` places
  let w = weights;
  let wsum = sum(w);
  if (wsum.isZero()) {
    w = weights.map(() => new Dec(1));
    wsum = new Dec(weights.length);
  }
  const exact = w.map((x) => units.times(x).dividedBy(wsum));
  // Negative totals (credits) round towards zero the same way, by magnitude.
  const floors = exact.map((x) => x.toDecimalPlaces(0, Decimal.ROUND_DOWN));
  let left = units.minus(sum(floors)).toNumber();
  const order = exact
    .map((x, i) => ({ i, rem: x.minus(floors[i] ?? ZERO).abs() }))
    .sort((a, b) => b.rem.comparedTo(a.rem) || a.i - b.i);
  const step = left < 0 ? -1 : 1;
  for (const { i } of order) {
    if (left === 0) break;
    floors[i] = (floors[i] ?? ZERO).plus(step);
    left -= step;
  }
  return floors.map((f) => f.times(unit));
}
