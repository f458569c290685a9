// A stored (validated) plan written back as a plan document a user can edit and apply again.
// Pure; the API's GET /v1/plans/{id} and `edgemeter plans get` show plans this way.
import { planSchema, type Plan, type Pricing, type Quantity } from './plan.ts';
import { quotaDocument } from './quota-plan.ts';

/**
 * A validated plan written back as a plan document: the schema turns quantities such as
 * "500 MB" into `{ value, unit }`, which the schema would not take again, so they are written
 * back as text. Everything else already is valid input (with defaults filled in), so
 * `parsePlan` of the result gives the same plan: a GET can be edited and PUT back.
 */
export function planDocument(plan: Plan): Record<string, unknown> {
  const doc = withQuotas(plan, { ...plan, charges: plan.charges.map(chargeDocument) });
  // Once more through the schema: keys come out in the schema's order (plan, name, currency,
  // effective_from, …) rather than the database's jsonb order, which reads better as YAML.
  // A stored document the schema no longer takes is shown as stored.
  const again = planSchema.safeParse(doc);
  return again.success
    ? withQuotas(again.data, { ...again.data, charges: again.data.charges.map(chargeDocument) })
    : doc;
}

function withQuotas(plan: Plan, doc: Record<string, unknown>): Record<string, unknown> {
  return plan.quotas ? { ...doc, quotas: plan.quotas.map(quotaDocument) } : doc;
}

function quantityText(q: Quantity): string {
  return q.unit === undefined ? q.value : `${q.value} ${q.unit}`;
}

function pricingDocument(p: Pricing): Record<string, unknown> {
  switch (p.model) {
    case 'graduated':
    case 'volume':
      return {
        ...p,
        tiers: p.tiers.map((t) => (t.up_to ? { ...t, up_to: quantityText(t.up_to) } : t)),
      };
    case 'package':
      return { ...p, size: quantityText(p.size) };
    case 'per_unit':
      return p;
  }
}

function chargeDocument(c: Plan['charges'][number]): Record<string, unknown> {
  switch (c.type) {
    case 'fixed':
      return c;
    case 'peak':
      return {
        ...c,
        pricing: pricingDocument(c.pricing),
        ...(c.committed ? { committed: quantityText(c.committed) } : {}),
      };
    case 'usage': {
      const out: Record<string, unknown> = { ...c, pricing: pricingDocument(c.pricing) };
      if (c.included) out.included = { ...c.included, quantity: quantityText(c.included.quantity) };
      if (c.rounding) {
        const r: Record<string, unknown> = {};
        for (const key of ['per_record', 'per_period'] as const) {
          const step = c.rounding[key];
          if (step) r[key] = { ...step, increment: quantityText(step.increment) };
        }
        out.rounding = r;
      }
      return out;
    }
  }
}
