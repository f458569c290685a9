// `npm run demo` is the first thing a new user runs: a short run must store every acknowledged
// report once, apply the example plan through the API and print real invoices.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../demo/run.ts';

describe('edgemeter demo', () => {
  it('runs end to end and prints the invoices of both demo accounts', async () => {
    const lines: string[] = [];
    const result = await runDemo({ devices: 5, seconds: 2, out: (l) => lines.push(l) });
    const text = lines.join('\n');
    expect(result.ok).toBe(true);
    expect(result.stored).toBe(result.acked);
    expect(result.acked).toBeGreaterThan(0);
    expect(text).toMatch(/plan iot-standard v1 applied/);
    expect(text).toMatch(/Invoice acme-logistics, \d{4}-\d{2} \(Europe\/Berlin\), EUR, open/);
    expect(text).toMatch(/Invoice lisbon-utility, \d{4}-\d{2} \(Europe\/Lisbon\), EUR, open/);
    // The plan's charges appear as invoice lines: pooled home-zone data, the p95 burst charge
    // and the fees.
    for (const charge of ['data-eu', 'burst-p95', 'sim-fee', 'platform'])
      expect(text, charge).toContain(charge);
    expect(text).toMatch(/Total: EUR \d+\.\d{2}/);
  }, 120_000);
});
