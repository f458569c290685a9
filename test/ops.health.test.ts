// Issue 8, health and logs. The rater's /readyz follows its database: ready when reachable and
// migrated, not ready (503, with the reason) when the schema is behind the code or the database
// is gone, while /healthz keeps answering. (The collector's /readyz at its cap and on a full
// disk is proven in collector.cap.test.ts and collector.disk-full.test.ts.) The logs are one
// JSON line per significant event: none per record in normal operation.
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Collector } from '../collector/collector.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import {
  cleanupAfterAll,
  device,
  freePort,
  report,
  startRater,
  tempDir,
  waitFor,
} from './helpers/stack.ts';

interface Health {
  status: string;
  reason?: string;
  database?: unknown;
}

async function get(port: number, path: string): Promise<{ status: number; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Health };
}

describe('rater /readyz', () => {
  const cleanup = cleanupAfterAll();

  it.skipIf(!hasPostgres)(
    'is ready only while the database is reachable and migrated',
    async () => {
      const db = await freshPostgresDatabase();
      cleanup.push(db.drop);
      const rater = await startRater(db.url);
      cleanup.push(() => rater.close());
      const ready = await get(rater.httpPort, '/readyz');
      expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
      expect(ready.body.database).toEqual({ driver: 'pg', timescale: false });

      // The schema behind the code (as if an older rater had migrated it).
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      const latest = await admin.query<{ version: number; name: string }>(
        'DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations) RETURNING version, name',
      );
      const behind = await get(rater.httpPort, '/readyz');
      expect(behind.status).toBe(503);
      expect(behind.body.reason).toMatch(/schema is at version \d+ but this rater needs version/);
      const row = latest.rows[0] as { version: number; name: string };
      await admin.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        row.version,
        row.name,
      ]);
      await admin.end();
      expect((await get(rater.httpPort, '/readyz')).status).toBe(200);

      // The database gone: every connection is terminated and new ones are refused.
      await db.drop();
      const gone = await get(rater.httpPort, '/readyz');
      expect(gone.status).toBe(503);
      expect(gone.body).toMatchObject({ status: 'not ready' });
      expect(gone.body.reason).toMatch(/does not exist|terminat|connect/i);
      expect(await get(rater.httpPort, '/healthz')).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
    },
  );
});

describe('logs', () => {
  const cleanup = cleanupAfterAll();

  it('writes JSON lines for events, none per record, and honours the level', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const raterLines: Array<Record<string, unknown>> = [];
    const sinkInto = (into: Array<Record<string, unknown>>) =>
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n')) if (l) into.push(JSON.parse(l));
          done();
        },
      });
    const sink = sinkInto(lines);
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const raterPort = await freePort();
    const config = loadCollectorConfig({
      env: { EDGEMETER_LOG_LEVEL: 'info' },
      flags: {
        mqttListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
        rater: `127.0.0.1:${raterPort}`,
        bufferDir: dir.path,
        batchLingerMs: 5,
        retryInitialMs: 20,
        retryMaxMs: 100,
      },
    });
    const logger = pino({ level: config.logLevel, base: { program: 'collector' } }, sink);
    const collector = await new Collector(config, { logger }).start();
    cleanup.push(() => collector.close());
    expect(lines.map((l) => l.msg)).toContain('collector started');
    expect(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(
      true,
    );

    const raterConfig = loadRaterConfig({
      env: {},
      flags: {
        db: 'embedded:memory',
        grpcListen: `127.0.0.1:${raterPort}`,
        httpListen: '127.0.0.1:0',
      },
    });
    const raterLogger = pino({ level: 'info', base: { program: 'rater' } }, sinkInto(raterLines));
    const rater = await new Rater(raterConfig, { logger: raterLogger }).start();
    cleanup.push(() => rater.close());
    expect(raterLines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['database ready', 'gRPC ingest listening', 'HTTP API listening']),
    );
    // The collector retried its quota watch while the rater started (a warning per attempt,
    // more or fewer by how long the start took): count from its connection on.
    await waitFor(
      () => (raterLines.some((l) => l.msg === 'quota watch started') ? true : undefined),
      'the quota watch',
    );
    const atStart = lines.length;
    const raterAtStart = raterLines.length;
    const dev = await device(collector.mqttPort, 'log-dev');
    cleanup.push(() => dev.endAsync());
    for (let seq = 1; seq <= 200; seq++)
      await dev.publishAsync('usage/log-dev', report(seq, 1, 1), { qos: 1 });
    await dev.publishAsync('usage/log-dev', 'not json', { qos: 1 });
    await waitFor(() => (collector.outboxStats().records === 0 ? true : undefined), 'drain');

    // 201 reports, one of them invalid: counted in metrics, not logged one by one. At most the
    // "rater reachable again" line may have appeared (the rater started after the collector).
    const during = lines.slice(atStart);
    expect(during.filter((l) => JSON.stringify(l).includes('log-dev'))).toEqual([]);
    expect(during.length).toBeLessThanOrEqual(2);
    // The rater committed the batches without a line. The collector's quota stream connecting is
    // an event (one line per connection), not a line per record.
    expect(raterLines.slice(raterAtStart).filter((l) => l.msg !== 'quota watch started')).toEqual(
      [],
    );

    // The level setting: at warn, a normal start writes no info line (only warnings, such as
    // the one about devices without authentication).
    const quietLines: Array<Record<string, unknown>> = [];
    const quietDir = await tempDir();
    cleanup.push(quietDir.remove);
    const quietConfig = loadCollectorConfig({
      env: { EDGEMETER_LOG_LEVEL: 'warn' },
      flags: {
        mqttListen: '127.0.0.1:0',
        httpListen: '127.0.0.1:0',
        rater: `127.0.0.1:${raterPort}`,
        bufferDir: quietDir.path,
      },
    });
    expect(quietConfig.logLevel).toBe('warn');
    const quiet = await new Collector(quietConfig, {
      logger: pino({ level: quietConfig.logLevel }, sinkInto(quietLines)),
    }).start();
    await quiet.close();
    expect(quietLines.filter((l) => (l.level as number) < 40)).toEqual([]);
    expect(quietLines.map((l) => l.msg)).not.toContain('collector started');
  });
});
