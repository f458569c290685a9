// A stored plan shown as a document (GET /v1/plans/{id}, `edgemeter plans get`) must parse back
// to the same plan: a billing team edits what it reads and applies it again.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePlan, validatePlan } from '../rater/rating/plan.ts';
import { planDocument } from '../rater/rating/plan-document.ts';

describe('planDocument', () => {
  it('round-trips the example plan: validate(document(plan)) equals plan', () => {
    const plan = parsePlan(readFileSync('examples/plans/iot-standard.yaml', 'utf8'));
    const doc = planDocument(plan);
    expect(validatePlan(doc)).toEqual(plan);
    // Quantities come back as text a person can edit.
    expect(JSON.stringify(doc)).toContain('"quantity":"100 MB"');
    expect(JSON.stringify(doc)).toContain('"size":"100 MB"');
  });

  it('round-trips rounding increments, tier bounds and committed rates', () => {
    const plan = validatePlan({
      plan: 'p',
      currency: 'EUR',
      effective_from: '2026-01-01',
      charges: [
        {
          id: 'd',
          type: 'usage',
          meter: 'total',
          unit: 'MB',
          rounding: {
            per_record: { increment: '1 KB' },
            per_period: { increment: 1, mode: 'half_even' },
          },
          pricing: {
            model: 'graduated',
            tiers: [{ up_to: '1 GB', price: '0.01' }, { price: '0.005' }],
          },
        },
        {
          id: 'p',
          type: 'peak',
          method: 'percentile',
          committed: '10 Mbps',
          pricing: { model: 'volume', tiers: [{ up_to: 100, price: '2' }, { price: '1' }] },
        },
      ],
    });
    expect(validatePlan(planDocument(plan))).toEqual(plan);
  });
});
