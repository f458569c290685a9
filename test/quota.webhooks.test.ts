// Alert webhooks end to end on both drivers, with real HTTP receivers on loopback: a crossing's
// delivery is POSTed signed (the receiver verifies it; a tampered body fails), a receiver
// answering 500 then 200 gets two attempts with one delivery id, and the delivery log shows both;
// a receiver that never succeeds ends `failed` after the last attempt; projected-bill alerts fire
// once per period.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.ts';
import { InvoiceService } from '../rater/api/invoice-service.ts';
import { BillAlerts } from '../rater/quota/bill-alerts.ts';
import { WebhookDispatcher, retryDelayMs } from '../rater/quota/dispatcher.ts';
import { signWebhook, verifyWebhookSignature } from '../rater/quota/signature.ts';
import { periodAt } from '../rater/rating/period.ts';
import { SqlInvoiceStore } from '../rater/storage/invoice-store.ts';
import { dbTargets } from './helpers/db.ts';
import { quotaRig, type QuotaRig } from './helpers/quota-rater.ts';
import { waitFor } from './helpers/stack.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on loopback answering with the next status of `codes` (the last one repeats). */
async function receiver(codes: number[]) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = codes[Math.min(got.length - 1, codes.length - 1)] ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('webhook signatures', () => {
  const secret = 'whsec_test_secret_0123456789';
  const body = '{"type":"quota.threshold_crossed","used":"850000"}';
  const now = Date.parse('2026-11-20T12:00:00Z');
  const header = signWebhook(secret, body, now / 1000);

  it('verifies the signed body and refuses a tampered one, a wrong secret or an old time', () => {
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(secret, header, body, { nowMs: now })).toBe(true);
    expect(verifyWebhookSignature(secret, header, Buffer.from(body), { nowMs: now })).toBe(true);
    expect(
      verifyWebhookSignature(secret, header, body.replace('850000', '850001'), { nowMs: now }),
    ).toBe(false);
    expect(verifyWebhookSignature('whsec_other_secret_0000000', header, body, { nowMs: now })).toBe(
      false,
    );
    expect(verifyWebhookSignature(secret, header, body, { nowMs: now + 301_000 })).toBe(false);
    expect(verifyWebhookSignature(secret, undefined, body, { nowMs: now })).toBe(false);
    expect(verifyWebhookSignature(secret, 't=abc,v1=zz', body, { nowMs: now })).toBe(false);
  });

  it('backs off exponentially with jitter, up to the cap', () => {
    const o = {
      intervalMs: 1,
      timeoutMs: 1,
      retryBaseMs: 1000,
      retryMaxMs: 60_000,
      maxAttempts: 9,
    };
    expect(retryDelayMs(1, { ...o, random: () => 0.5 })).toBe(1000);
    expect(retryDelayMs(3, { ...o, random: () => 0.5 })).toBe(4000);
    expect(retryDelayMs(3, { ...o, random: () => 0 })).toBe(3200);
    expect(retryDelayMs(20, { ...o, random: () => 0.99 })).toBe(60_000);
  });
});

for (const target of dbTargets) {
  describe.skipIf(!target.available)(`webhook deliveries on ${target.name}`, () => {
    let rig: QuotaRig;
    let cleanup: () => Promise<void> = async () => {};
    const closers: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      const db = await target.create();
      cleanup = db.cleanup;
      rig = await quotaRig(db.url);
    });
    afterAll(async () => {
      for (const c of closers.reverse()) await c();
      await rig?.close();
      await cleanup();
    });

    const dispatcher = (maxAttempts: number) =>
      new WebhookDispatcher(rig.alerts, silentLogger(), {
        intervalMs: 1000,
        timeoutMs: 5000,
        retryBaseMs: 20,
        retryMaxMs: 100,
        maxAttempts,
      });

    it('retries a receiver answering 500, then 200: two signed attempts, one delivery id', async () => {
      const rx = await receiver([500, 200]);
      closers.push(rx.close);
      const put = await rig.alerts.putEndpoint({
        id: 'flaky',
        url: rx.url,
        events: ['quota.threshold_crossed'],
        accountId: 'acme',
      });
      // An endpoint for another account hears nothing of acme.
      await rig.alerts.putEndpoint({
        id: 'other',
        url: rx.url,
        events: ['quota.threshold_crossed'],
        accountId: 'globex',
      });
      const secret = put.secret!;
      expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);

      await rig.send('w1', [{ deviceId: 'd1', up: 600_000 }]);
      const d = dispatcher(5);
      await waitFor(async () => {
        await d.runOnce();
        const [x] = await rig.alerts.listDeliveries('flaky', 10);
        return x?.status === 'delivered' ? x : undefined;
      }, 'the delivery to succeed');

      expect(rx.got).toHaveLength(2);
      const [a, b] = rx.got as [Received, Received];
      expect(a.headers['edgemeter-delivery']).toBe(b.headers['edgemeter-delivery']);
      expect(a.headers['edgemeter-event']).toBe('quota.threshold_crossed');
      for (const r of rx.got)
        expect(
          verifyWebhookSignature(secret, r.headers['edgemeter-signature'] as string, r.body),
        ).toBe(true);
      expect(
        verifyWebhookSignature(
          secret,
          b.headers['edgemeter-signature'] as string,
          b.body.replace('d1', 'd9'),
        ),
      ).toBe(false);
      const payload = JSON.parse(b.body) as Record<string, unknown>;
      expect(payload).toMatchObject({
        id: b.headers['edgemeter-delivery'],
        type: 'quota.threshold_crossed',
        account: 'acme',
        device: 'd1',
        subject: 'device:d1',
        quota: { key: 'q1/cap', level: 0, action: 'notify', threshold: '50', used: '600000' },
      });

      const [log] = await rig.alerts.listDeliveries('flaky', 10);
      expect(log!.status).toBe('delivered');
      expect(log!.attempts.map((x) => x.code)).toEqual([500, 200]);
      expect(log!.lastCode).toBe(200);
      expect(log!.finishedAtMs).toBeGreaterThan(0);
      expect(await rig.alerts.listDeliveries('other', 10)).toEqual([]);
    });

    it('marks a delivery failed after the last attempt', async () => {
      const rx = await receiver([503]);
      closers.push(rx.close);
      await rig.alerts.putEndpoint({
        id: 'down',
        url: rx.url,
        events: ['quota.threshold_crossed'],
      });
      await rig.send('w2', [{ deviceId: 'd2', up: 600_000 }]);
      const d = dispatcher(2);
      const [log] = await waitFor(async () => {
        await d.runOnce();
        const ds = await rig.alerts.listDeliveries('down', 10);
        return ds[0]?.status === 'failed' ? ds : undefined;
      }, 'the delivery to fail');
      expect(log!.attempts.map((x) => x.code)).toEqual([503, 503]);
      expect(rx.got).toHaveLength(2);
    });

    it('a projected-bill alert fires once per period', async () => {
      const rx = await receiver([200]);
      closers.push(rx.close);
      await rig.alerts.putEndpoint({
        id: 'bills',
        url: rx.url,
        events: ['bill.projected_total_over'],
      });
      // 4 MB at 0.01 per MB by the 20th of November: 0.04 so far, projected beyond 0.05.
      await rig.send('w3', [{ deviceId: 'd3', up: 4_000_000 }]);
      const invoices = new InvoiceService(rig.catalog, new SqlInvoiceStore(rig.store.sql));
      const bills = new BillAlerts(
        {
          sql: rig.store.sql,
          rules: rig.tracker.rules,
          logger: silentLogger(),
          now: () => rig.clock.now,
          accounts: () => ['acme'],
          project: async (id, nowMs) => {
            const account = (await rig.catalog.getAccount(id, nowMs))!;
            const period = periodAt(nowMs, account.timeZone);
            const inv = await invoices.invoice(account, period, nowMs);
            return {
              period,
              currency: inv.currency,
              total: inv.total,
              projected: inv.projected_total!,
            };
          },
        },
        60_000,
      );
      expect(await bills.runOnce()).toBe(1);
      expect(await bills.runOnce()).toBe(0);
      await waitFor(async () => {
        await dispatcher(3).runOnce();
        return rx.got.length > 0 ? true : undefined;
      }, 'the bill alert');
      const body = JSON.parse(rx.got[0]!.body) as { bill: Record<string, string> };
      expect(body.bill).toMatchObject({ threshold: '0.05', currency: 'EUR', period: '2026-11' });
      expect(Number(body.bill.projected_total)).toBeGreaterThan(0.05);
    });
  });
}
