// Starts real raters and collectors on free loopback ports for integration tests, and always
// tears them down. Nothing here is mocked: gRPC, MQTT, LevelDB and the databases are real.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll } from 'vitest';
import { freePort } from '../../chaos/procs.ts';
import { silentLogger } from '../../common/logger.ts';
import { loadCollectorConfig } from '../../collector/config.ts';
import { Collector, type CollectorDeps } from '../../collector/collector.ts';
import { loadRaterConfig } from '../../rater/config.ts';
import { Rater } from '../../rater/rater.ts';

export async function tempDir(
  prefix = 'edgemeter-test-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A loopback port that was free a moment ago, for a server that starts later (chaos/procs.ts). */
export { freePort };

/** A rater on `db`; `flags` adds or replaces options by config key. */
export async function startRater(
  db: string,
  grpcPort = 0,
  flags: Record<string, unknown> = {},
): Promise<Rater> {
  const config = loadRaterConfig({
    env: {},
    flags: { db, grpcListen: `127.0.0.1:${grpcPort}`, httpListen: '127.0.0.1:0', ...flags },
  });
  return new Rater(config, { logger: silentLogger() }).start();
}

export async function startCollector(
  flags: {
    raterPort: number;
    bufferDir: string;
    collectorId?: string;
    upstream?: string;
    clientId?: string;
    bufferMaxBytes?: number;
    /** Any other collector options, by config key. */
    config?: Record<string, unknown>;
  },
  deps: Partial<CollectorDeps> = {},
): Promise<Collector> {
  const config = loadCollectorConfig({
    env: {},
    flags: {
      collectorId: flags.collectorId ?? 'test-gw',
      mqttListen: '127.0.0.1:0',
      httpListen: '127.0.0.1:0',
      rater: `127.0.0.1:${flags.raterPort}`,
      bufferDir: flags.bufferDir,
      batchLingerMs: 5,
      retryInitialMs: 20,
      retryMaxMs: 200,
      ...(flags.bufferMaxBytes ? { bufferMaxBytes: flags.bufferMaxBytes } : {}),
      ...(flags.upstream
        ? { mqttUpstream: flags.upstream, mqttUpstreamClientId: flags.clientId }
        : {}),
      ...flags.config,
    },
  });
  return new Collector(config, { logger: silentLogger(), ...deps }).start();
}

export function device(port: number, id: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: `dev-${id}-${Math.random().toString(36).slice(2, 6)}`,
    reconnectPeriod: 0,
    ...opts,
  });
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface UsageTotals {
  up: number;
  down: number;
  records: number;
}

/** A device's totals as the billing team reads them: through the rater's HTTP API. */
export async function usageTotals(
  rater: Rater,
  deviceId: string,
  fromMs = Date.UTC(2020, 0, 1),
  toMs = Date.UTC(2030, 0, 1),
): Promise<UsageTotals> {
  const res = await fetch(
    `http://127.0.0.1:${rater.httpPort}/v1/devices/${deviceId}/usage?from=${fromMs}&to=${toMs}&step=1d`,
  );
  if (!res.ok) throw new Error(`usage API answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { totals: UsageTotals };
  return { up: body.totals.up, down: body.totals.down, records: body.totals.records };
}

/** Waits until the API shows `records` records for the device, then returns its totals. */
export function settledTotals(
  rater: Rater,
  deviceId: string,
  records: number,
): Promise<UsageTotals> {
  return waitFor(async () => {
    const t = await usageTotals(rater, deviceId);
    return t.records >= records ? t : undefined;
  }, `${records} records of ${deviceId} in the rater`);
}

export const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);

export function report(
  seq: number,
  up: number,
  down: number,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({ seq, ts: new Date(T0 + seq * 60_000).toISOString(), up, down, ...extra });
}

/** Teardown steps registered during a describe block, run in reverse order after it. */
export function cleanupAfterAll(): { push: (step: () => Promise<void>) => void } {
  const steps: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const step of steps.reverse()) await step();
  });
  return { push: (step) => void steps.push(step) };
}
