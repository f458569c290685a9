// Quota rules and bill alerts in plan documents: normalized to base-unit rules with the plan's
// units, every problem listed with its path, and written back as a document that parses again.
import { describe, expect, it } from 'vitest';
import { PlanValidationError, parsePlan, validatePlan } from '../rater/rating/plan.ts';
import { planDocument } from '../rater/rating/plan-document.ts';
import { quotaRules } from '../rater/rating/quota-plan.ts';
import { QUOTA_PLAN } from './helpers/quota-rater.ts';

const base = {
  plan: 'p',
  currency: 'EUR',
  effective_from: '2026-01-01',
  charges: [{ id: 'f', type: 'fixed', per: 'account', amount: '1' }],
};

function problems(quotas: unknown[], extra: object = {}) {
  try {
    validatePlan({ ...base, quotas, ...extra });
  } catch (e) {
    if (e instanceof PlanValidationError) return e.problems;
    throw e;
  }
  return [];
}

describe('quotas in plans', () => {
  it('normalizes to rules in base units with the plan units', () => {
    const plan = parsePlan(QUOTA_PLAN);
    const [cap, pool, hourly] = quotaRules('q1', plan);
    expect(cap).toEqual({
      key: 'q1/cap',
      id: 'cap',
      scope: 'device',
      meter: 'total',
      limit: '1000000',
      windowMs: 'period',
      zeroRated: { dims: { apn: ['free'] }, allowance: '100000' },
      thresholds: [
        { pct: '50', action: 'notify' },
        { pct: '80', action: 'throttle', rateBps: 64000 },
        { pct: '100', action: 'block' },
      ],
    });
    expect([pool!.scope, pool!.limit]).toEqual(['account', '3000000']);
    expect(hourly!.windowMs).toBe(3600_000);
    const binary = quotaRules(
      'b',
      validatePlan({
        ...base,
        units: 'binary',
        quotas: [
          {
            id: 'q',
            meter: 'meters.sms',
            limit: 500,
            window: '7d',
            filter: { dims: { roam: ['yes', 'eu'] }, exclude_dims: { apn: 'x' } },
            thresholds: [{ at: '100%', action: 'block' }],
          },
          {
            id: 'g',
            meter: 'down',
            limit: '1 GB',
            window: '24h',
            thresholds: [{ at: '90.5%', action: 'notify' }],
          },
        ],
      }),
    );
    expect(binary[0]).toMatchObject({
      limit: '500',
      windowMs: 7 * 86_400_000,
      dims: { roam: ['yes', 'eu'] },
      excludeDims: { apn: ['x'] },
    });
    expect(binary[1]).toMatchObject({ limit: String(1024 ** 3), thresholds: [{ pct: '90.5' }] });
  });

  it('round-trips through planDocument, quantities as text', () => {
    const plan = parsePlan(QUOTA_PLAN);
    const doc = planDocument(plan);
    expect(validatePlan(doc)).toEqual(plan);
    const text = JSON.stringify(doc);
    expect(text).toContain('"limit":"1 MB"');
    expect(text).toContain('"rate":"64 kbps"');
    expect(text).toContain('"allowance":"100 KB"');
    expect(plan.bill_alerts).toEqual([{ projected_total_over: '0.05' }]);
    // A plan without quotas stays without them.
    expect(planDocument(validatePlan(base))).not.toHaveProperty('quotas');
  });

  it('lists every problem with its path', () => {
    const got = problems([
      {
        id: 'a',
        meter: 'total',
        limit: '10 kbps',
        window: '7m',
        thresholds: [
          { at: '80%', action: 'throttle' },
          { at: '80%', action: 'notify', rate: '1 Mbps' },
          { at: '90%', action: 'throttle', rate: '5 MB' },
        ],
      },
      {
        id: 'a',
        meter: 'meters.sms',
        limit: '5 MB',
        window: '32d',
        thresholds: [{ at: '100%', action: 'block' }],
      },
      { id: 'b', meter: 'bogus', limit: 'lots', window: 'weekly', thresholds: [], colour: 'red' },
      {
        id: 'c',
        meter: 'up',
        limit: '1 GB',
        window: 'period',
        zero_rated: { dims: { apn: 'x' }, allowance: '5 kbps' },
        thresholds: [{ at: '100%', action: 'block' }],
      },
      {
        id: 'e',
        meter: 'up',
        limit: '1 GB',
        window: 'period',
        thresholds: [{ at: 'eighty', action: 'warn' }],
      },
    ]);
    const at = (path: string) => got.filter((p) => p.path === path).map((p) => p.message);
    expect(at('quotas.0.limit')).toEqual(['kbps is not a byte unit']);
    expect(at('quotas.0.window')[0]).toMatch(/whole number of 5-minute intervals/);
    expect(at('quotas.0.thresholds.0.rate')[0]).toMatch(/needs a rate/);
    expect(at('quotas.0.thresholds.1.at')).toEqual(['thresholds must be strictly increasing']);
    expect(at('quotas.0.thresholds.1.rate')).toEqual(['only a throttle threshold takes a rate']);
    expect(at('quotas.0.thresholds.2.rate')[0]).toMatch(/rate unit/);
    expect(at('quotas.1.id')).toEqual(['duplicate quota id a']);
    expect(at('quotas.1.limit')).toEqual(['meters.sms is a count; write a plain number']);
    expect(at('quotas.1.window')).toEqual(['a rolling window is at most 31 days (31d)']);
    expect(at('quotas.2.meter')).toEqual(['meter must be up, down, total or meters.NAME']);
    expect(at('quotas.2.limit')[0]).toMatch(/quantity must be a decimal/);
    expect(at('quotas.2.window')[0]).toMatch(/window must be period or a duration/);
    expect(at('quotas.2.thresholds')[0]).toMatch(/>=1|at least 1|too small/i);
    expect(got.some((p) => p.path === 'quotas.2' && /colour/.test(p.message))).toBe(true);
    expect(at('quotas.4.thresholds.0.at')).toEqual(['at must be a percentage such as "80%"']);
    expect(at('quotas.4.thresholds.0.action')).toHaveLength(1);
    expect(at('quotas.3.zero_rated.allowance')).toEqual(['kbps is not a unit of up']);
    expect(problems([], { bill_alerts: [{ projected_total_over: '-5' }] })[0]!.path).toBe(
      'bill_alerts.0.projected_total_over',
    );
  });
});
