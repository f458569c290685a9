// Price models: a rated quantity in the charge's unit → priced parts (one per tier reached).
// Amounts here are exact; the engine rounds each line to the currency's minor unit.
//
// - per_unit: quantity × price.
// - graduated: each tier prices the part of the quantity that falls inside it.
// - volume: the whole quantity at the price of the tier the quantity falls in.
// - package: price per started package (ceil(quantity / size)).
// A tier's `flat` amount is added when the quantity enters the tier (is above its lower bound),
// so a zero quantity costs nothing.
import { Dec, ZERO, plain } from './money.ts';
import type { Pricing, Quantity, Tier } from './plan.ts';

export interface PricedPart {
  /** "0-1 GB", "1-10 GB", "10 GB+"; absent for per_unit. */
  tier?: string;
  quantity: Dec;
  /** For package: e.g. "package of 500 MB". */
  unit?: string;
  /** As written in the plan ("2.00" stays "2.00"). */
  unitPrice: string;
  amount: Dec;
}

/** Converts a plan quantity to the charge's unit (`toUnit(q)` is provided by the caller). */
export type ToUnit = (q: Quantity) => Dec;

function tierLabel(lower: Dec, upper: Dec | undefined, unit: string): string {
  const u = unit === '1' ? '' : ` ${unit}`;
  return upper === undefined ? `${plain(lower)}${u}+` : `${plain(lower)}-${plain(upper)}${u}`;
}

export function price(quantity: Dec, pricing: Pricing, unit: string, toUnit: ToUnit): PricedPart[] {
  switch (pricing.model) {
    case 'per_unit': {
      const p = new Dec(pricing.price);
      return [{ quantity, unitPrice: pricing.price, amount: quantity.times(p) }];
    }
    case 'package': {
      const size = toUnit(pricing.size);
      const packages = quantity.dividedBy(size).ceil();
      const p = new Dec(pricing.price);
      const sizeLabel =
        pricing.size.unit !== undefined
          ? `${pricing.size.value} ${pricing.size.unit}`
          : `${plain(size)}${unit === '1' ? '' : ` ${unit}`}`;
      return [
        {
          quantity: packages,
          unit: `package of ${sizeLabel}`,
          unitPrice: pricing.price,
          amount: packages.times(p),
        },
      ];
    }
    case 'graduated':
      return graduated(quantity, pricing.tiers, unit, toUnit);
    case 'volume':
      return volume(quantity, pricing.tiers, unit, toUnit);
  }
}

function bounds(
  tiers: Tier[],
  toUnit: ToUnit,
): Array<{ lower: Dec; upper: Dec | undefined; t: Tier }> {
  let lower = ZERO;
  return tiers.map((t) => {
    const upper = t.up_to ? toUnit(t.up_to) : undefined;
    const b = { lower, upper, t };
    if (upper) lower = upper;
    return b;
  });
}

function graduated(quantity: Dec, tiers: Tier[], unit: string, toUnit: ToUnit): PricedPart[] {
  const parts: PricedPart[] = [];
  for (const { lower, upper, t } of bounds(tiers, toUnit)) {
    if (parts.length > 0 && !quantity.greaterThan(lower)) break;
    const top = upper === undefined ? quantity : Dec.min(quantity, upper);
    const inTier = Dec.max(ZERO, top.minus(lower));
    const p = new Dec(t.price);
    const flat = quantity.greaterThan(lower) && t.flat ? new Dec(t.flat) : ZERO;
    parts.push({
      tier: tierLabel(lower, upper, unit),
      quantity: inTier,
      unitPrice: t.price,
      amount: inTier.times(p).plus(flat),
    });
  }
  return parts;
}

function volume(quantity: Dec, tiers: Tier[], unit: string, toUnit: ToUnit): PricedPart[] {
  const all = bounds(tiers, toUnit);
  const hit =
    all.find((b) => b.upper === undefined || quantity.lessThanOrEqualTo(b.upper)) ??
    all[all.length - 1];
  if (!hit) return [];
  const p = new Dec(hit.t.price);
  const flat = quantity.greaterThan(0) && hit.t.flat ? new Dec(hit.t.flat) : ZERO;
  return [
    {
      tier: tierLabel(hit.lower, hit.upper, unit),
      quantity,
      unitPrice: hit.t.price,
      amount: quantity.times(p).plus(flat),
    },
  ];
}
