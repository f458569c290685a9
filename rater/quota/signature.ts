// Webhook signatures. Each POST carries `Edgemeter-Signature: t=<unix seconds>,v1=<hex>` where
// hex = HMAC-SHA256(secret, "<t>.<body>"). Signing the time with the body lets a receiver refuse
// replays of an old delivery; comparing in constant time leaks nothing about the expected value.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Edgemeter-Signature';
export const DELIVERY_HEADER = 'Edgemeter-Delivery';
export const EVENT_HEADER = 'Edgemeter-Event';

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

export interface VerifyOptions {
  /** Refuse signatures older (or newer) than this many seconds. Default 300; 0: no check. */
  toleranceSeconds?: number;
  /** "Now" in ms. Default Date.now(). */
  nowMs?: number;
}

/**
 * True when `header` (the Edgemeter-Signature value) signs exactly `body` (the raw request body,
 * as received, before any JSON parsing) with `secret`, within the time tolerance.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  opts: VerifyOptions = {},
): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    if (at <= 0) continue;
    const k = item.slice(0, at).trim();
    parts.set(k, [...(parts.get(k) ?? []), item.slice(at + 1).trim()]);
  }
  const t = parts.get('t')?.[0];
  if (!t || !/^\d{1,12}$/.test(t)) return false;
  const tolerance = opts.toleranceSeconds ?? 300;
  const now = (opts.nowMs ?? Date.now()) / 1000;
  if (tolerance > 0 && Math.abs(now - Number(t)) > tolerance) return false;
  const expected = createHmac('sha256', secret)
    .update(`${t}.`)
    .update(typeof body === 'string' ? Buffer.from(body) : body)
    .digest();
  return (parts.get('v1') ?? []).some((v) => {
    if (!/^[0-9a-f]{64}$/.test(v)) return false;
    return timingSafeEqual(Buffer.from(v, 'hex'), expected);
  });
}
