// Webhook endpoints and the alert delivery outbox (migration 007). Deliveries are enqueued in
// the transaction that inserts their crossing; dispatchers on any replica claim due rows with
// FOR UPDATE SKIP LOCKED and a lease (next_at moves ahead while a POST is in flight), so each
// attempt is made by one dispatcher and a crashed one's claim is retried after the lease.
import { randomBytes, randomUUID } from 'node:crypto';
import { toStorageError } from './errors.ts';
import type { SqlClient } from './sql.ts';

export const ALERT_EVENTS = ['quota.threshold_crossed', 'bill.projected_total_over'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: AlertEvent[];
  /** Only alerts about this account; none: every account. */
  accountId?: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface PutEndpointInput {
  id: string;
  url: string;
  events: AlertEvent[];
  accountId?: string;
  /** Given: used (and replaces the old one). Omitted: kept, or generated for a new endpoint. */
  secret?: string;
}

export interface DeliveryView {
  id: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Array<{ attempt: number; atMs: number; code?: number; error?: string }>;
  lastCode?: number;
  lastError?: string;
  createdAtMs: number;
  nextAtMs?: number;
  finishedAtMs?: number;
}

export interface ClaimedDelivery {
  id: string;
  /** This attempt's number, from 1. */
  attempt: number;
  event: string;
  body: string;
  url: string;
  secret: string;
}

interface EndpointRow {
  endpoint_id: string;
  url: string;
  events: string[];
  account_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const endpointOf = (r: EndpointRow): WebhookEndpoint => ({
  id: r.endpoint_id,
  url: r.url,
  events: r.events as AlertEvent[],
  ...(r.account_id ? { accountId: r.account_id } : {}),
  createdAtMs: r.created_at.getTime(),
  updatedAtMs: r.updated_at.getTime(),
});

/** A new signing secret: 32 random bytes, prefixed so a leaked one is recognisable. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('hex')}`;
}

/**
 * Inside the crossing's transaction: one pending delivery for each endpoint subscribed to
 * `event` (and to the account, when it names one). `body` gets each delivery's id.
 */
export async function enqueueAlert(
  tx: SqlClient,
  event: AlertEvent,
  accountId: string | undefined,
  body: (deliveryId: string) => object,
): Promise<number> {
  const { rows } = await tx.query<{ endpoint_id: string }>(
    `SELECT endpoint_id FROM webhook_endpoints
     WHERE $1 = ANY (events) AND (account_id IS NULL OR account_id = $2)`,
    [event, accountId ?? null],
  );
  for (const r of rows) {
    const id = randomUUID();
    await tx.query(
      `INSERT INTO alert_deliveries (delivery_id, endpoint_id, event_type, body) VALUES ($1, $2, $3, $4)`,
      [id, r.endpoint_id, event, JSON.stringify(body(id))],
    );
  }
  return rows.length;
}

export class SqlAlertStore {
  constructor(private readonly sql: SqlClient) {}

  async putEndpoint(
    input: PutEndpointInput,
  ): Promise<{ endpoint: WebhookEndpoint; created: boolean; secret?: string }> {
    return this.run(`storing webhook ${input.id}`, async () => {
      const existing = await this.getEndpoint(input.id);
      const secret = input.secret ?? (existing ? undefined : newSecret());
      const { rows } = await this.sql.query<EndpointRow>(
        `INSERT INTO webhook_endpoints (endpoint_id, url, events, account_id, secret)
         VALUES ($1, $2, $3::text[], $4, $5)
         ON CONFLICT (endpoint_id) DO UPDATE SET url = excluded.url, events = excluded.events,
           account_id = excluded.account_id,
           secret = CASE WHEN $6 THEN excluded.secret ELSE webhook_endpoints.secret END,
           updated_at = now()
         RETURNING endpoint_id, url, events, account_id, created_at, updated_at`,
        [
          input.id,
          input.url,
          input.events,
          input.accountId ?? null,
          secret ?? '',
          secret !== undefined,
        ],
      );
      const endpoint = endpointOf(rows[0] as EndpointRow);
      return { endpoint, created: !existing, ...(secret !== undefined ? { secret } : {}) };
    });
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    return this.run(`reading webhook ${id}`, async () => {
      const { rows } = await this.sql.query<EndpointRow>(
        `SELECT endpoint_id, url, events, account_id, created_at, updated_at
         FROM webhook_endpoints WHERE endpoint_id = $1`,
        [id],
      );
      return rows[0] && endpointOf(rows[0]);
    });
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    return this.run('listing webhooks', async () => {
      const { rows } = await this.sql.query<EndpointRow>(
        `SELECT endpoint_id, url, events, account_id, created_at, updated_at
         FROM webhook_endpoints ORDER BY endpoint_id`,
      );
      return rows.map(endpointOf);
    });
  }

  /** Deletes the endpoint and its delivery log; false when there was none. */
  async deleteEndpoint(id: string): Promise<boolean> {
    return this.run(`deleting webhook ${id}`, async () => {
      const { rows } = await this.sql.query(
        `DELETE FROM webhook_endpoints WHERE endpoint_id = $1 RETURNING endpoint_id`,
        [id],
      );
      return rows.length > 0;
    });
  }

  /** The endpoint's deliveries, newest first, each with its attempts. */
  async listDeliveries(endpointId: string, limit: number): Promise<DeliveryView[]> {
    return this.run(`reading deliveries of webhook ${endpointId}`, async () => {
      const { rows } = await this.sql.query<{
        delivery_id: string;
        event_type: string;
        status: DeliveryView['status'];
        last_code: number | null;
        last_error: string | null;
        created_at: Date;
        next_at: Date;
        finished_at: Date | null;
        attempts: string;
      }>(
        `SELECT d.delivery_id, d.event_type, d.status, d.last_code, d.last_error, d.created_at,
                d.next_at, d.finished_at,
                (SELECT coalesce(json_agg(json_build_object('attempt', a.attempt,
                   'at', (extract(epoch FROM a.at) * 1000)::int8, 'code', a.code, 'error', a.error)
                   ORDER BY a.attempt), '[]')::text
                 FROM alert_attempts a WHERE a.delivery_id = d.delivery_id) AS attempts
         FROM alert_deliveries d WHERE d.endpoint_id = $1
         ORDER BY d.created_at DESC, d.delivery_id LIMIT $2`,
        [endpointId, limit],
      );
      return rows.map((r) => ({
        id: r.delivery_id,
        event: r.event_type,
        status: r.status,
        attempts: (
          JSON.parse(r.attempts) as Array<{
            attempt: number;
            at: number;
            code: number | null;
            error: string | null;
          }>
        ).map((a) => ({
          attempt: a.attempt,
          atMs: a.at,
          ...(a.code !== null ? { code: a.code } : {}),
          ...(a.error !== null ? { error: a.error } : {}),
        })),
        ...(r.last_code !== null ? { lastCode: r.last_code } : {}),
        ...(r.last_error !== null ? { lastError: r.last_error } : {}),
        createdAtMs: r.created_at.getTime(),
        ...(r.status === 'pending' ? { nextAtMs: r.next_at.getTime() } : {}),
        ...(r.finished_at ? { finishedAtMs: r.finished_at.getTime() } : {}),
      }));
    });
  }

  /** Claims up to `limit` due deliveries for `leaseMs` and counts the attempt. */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    return this.run('claiming alert deliveries', async () => {
      const { rows } = await this.sql.query<{
        delivery_id: string;
        attempts: number;
        event_type: string;
        body: string;
        url: string;
        secret: string;
      }>(
        `WITH due AS (
           SELECT delivery_id FROM alert_deliveries
           WHERE status = 'pending' AND next_at <= now()
           ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE alert_deliveries d
         SET attempts = d.attempts + 1, next_at = now() + make_interval(secs => $2::float8 / 1000)
         FROM due, webhook_endpoints e
         WHERE d.delivery_id = due.delivery_id AND e.endpoint_id = d.endpoint_id
         RETURNING d.delivery_id, d.attempts, d.event_type, d.body, e.url, e.secret`,
        [limit, leaseMs],
      );
      return rows.map((r) => ({
        id: r.delivery_id,
        attempt: r.attempts,
        event: r.event_type,
        body: r.body,
        url: r.url,
        secret: r.secret,
      }));
    });
  }

  /**
   * Records an attempt's outcome: delivered, failed for good, or pending again after
   * `retryInMs`. Ignored when another dispatcher has claimed the delivery since (lease expired).
   */
  async finish(
    d: ClaimedDelivery,
    result: { code?: number; error?: string },
    next: { status: 'delivered' | 'failed' } | { status: 'pending'; retryInMs: number },
  ): Promise<void> {
    const retryInMs = next.status === 'pending' ? next.retryInMs : 0;
    await this.run(`recording delivery ${d.id}`, () =>
      this.sql.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO alert_attempts (delivery_id, attempt, code, error) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING`,
          [d.id, d.attempt, result.code ?? null, result.error ?? null],
        );
        await tx.query(
          `UPDATE alert_deliveries SET status = $3, last_code = $4, last_error = $5,
             next_at = now() + make_interval(secs => $6::float8 / 1000),
             finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
           WHERE delivery_id = $1 AND attempts = $2`,
          [d.id, d.attempt, next.status, result.code ?? null, result.error ?? null, retryInMs],
        );
      }),
    );
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toStorageError(e, what);
    }
  }
}
