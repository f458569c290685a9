// Issue 8, scale-out: several rater replicas behind gRPC client-side round-robin. Three real
// `edgemeter rater` processes on loopback share one PostgreSQL database; three real collectors
// get all three in EDGEMETER_RATER (a list of addresses) and spread their batches over them;
// devices in their own process publish every record to every collector at QoS 1. Mid-run one
// rater is SIGKILLed while batches flow. At the end every record a device got a PUBACK for is
// billed exactly once, with exact byte totals per device (chaos/verify.ts reads the database).
// Bounded: every wait has a limit, the scenario a hard timeout, and every process is killed.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { metric } from '../chaos/observe.ts';
import { freePort, killAllChildren, waitFor, type EdgemeterProcess } from '../chaos/procs.ts';
import { PROFILES } from '../chaos/profiles.ts';
import { runScenario, type ScenarioResult } from '../chaos/stage.ts';
import { parseRaterTarget } from '../collector/forward/target.ts';
import { raterChannelOptions } from '../collector/forward/tls.ts';
import { TlsConfigError } from '../common/tls.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { ConfigError } from '../common/config.ts';
import { freshPostgresDatabase, hasPostgres } from './helpers/services.ts';
import {
  cleanupAfterAll,
  device,
  freePort as stackFreePort,
  report,
  settledTotals,
  startCollector,
  startRater,
  tempDir,
} from './helpers/stack.ts';

const batchesOk = (r: EdgemeterProcess) =>
  metric(r, 'edgemeter_rater_batches_total', 'result="ok"');

describe('the rater option (EDGEMETER_RATER)', () => {
  it('turns a list or a dns: name into a round-robin channel target', () => {
    const rr = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });
    expect(parseRaterTarget('rater.example.net:50051')).toEqual({
      target: 'rater.example.net:50051',
      addresses: 1,
    });
    expect(parseRaterTarget('10.0.0.1:50051, 10.0.0.2:50052')).toEqual({
      target: 'ipv4:10.0.0.1:50051,10.0.0.2:50052',
      serviceConfig: rr,
      addresses: 2,
    });
    expect(parseRaterTarget('[fd00::1]:50051,[fd00::2]:50051').target).toBe(
      'ipv6:[fd00::1]:50051,[fd00::2]:50051',
    );
    expect(parseRaterTarget('dns:edgemeter-rater-grpc.billing.svc:50051')).toEqual({
      target: 'dns:edgemeter-rater-grpc.billing.svc:50051',
      serviceConfig: rr,
      addresses: 1,
    });
    expect(parseRaterTarget('dns:///raters.internal:50051').target).toBe(
      'dns:raters.internal:50051',
    );
  });

  it.each([
    [
      'rater-1:50051,rater-2:50051',
      /must be IP addresses \(rater-1, rater-2 are names\).*dns:name:port/,
    ],
    ['10.0.0.1:50051,[fd00::1]:50051', /all IPv4 or all IPv6/],
    ['10.0.0.1:50051,10.0.0.1:50051', /names an address twice/],
    ['10.0.0.1:50051,nowhere', /"nowhere" is not host:port/],
    ['dns:raters.internal', /after dns: give one name:port/],
    ['10.0.0.1:0', /port must be from 1 to 65535/],
  ])('refuses %s with a clear reason', (value, reason) => {
    let err: unknown;
    try {
      loadCollectorConfig({ env: { EDGEMETER_RATER: value } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toMatch(/^EDGEMETER_RATER: /);
    expect((err as ConfigError).problems.join('\n')).toMatch(reason);
  });
});

describe('TLS towards a list of raters', () => {
  it('needs the name the rater certificates carry (grpc-js would verify the first IP)', () => {
    const list = {
      rater: '10.0.0.1:50051,10.0.0.2:50051',
      raterTlsCa: '/etc/edgemeter/ca.pem',
      raterTlsServerName: undefined,
    };
    expect(() => raterChannelOptions(list)).toThrow(TlsConfigError);
    expect(() => raterChannelOptions(list)).toThrow(/raterTlsServerName is needed/);
    expect(raterChannelOptions({ ...list, raterTlsServerName: 'rater.internal' })).toEqual({
      'grpc.ssl_target_name_override': 'rater.internal',
    });
    // One address or a dns: name: the host is the name to verify, as before.
    expect(raterChannelOptions({ ...list, rater: 'dns:raters.internal:50051' })).toEqual({});
  });
});

describe('a dns: rater address', () => {
  const cleanup = cleanupAfterAll();

  it('delivers through every address the name resolves to that answers', async () => {
    // localhost resolves to 127.0.0.1 (and often ::1, where nothing listens: round_robin skips
    // an address it cannot connect to).
    const port = await stackFreePort();
    const rater = await startRater('embedded:memory', port);
    cleanup.push(() => rater.close());
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const collector = await startCollector({
      raterPort: port,
      bufferDir: dir.path,
      config: { rater: `dns:localhost:${port}` },
    });
    cleanup.push(() => collector.close());
    const dev = await device(collector.mqttPort, 'dns-dev');
    cleanup.push(() => dev.endAsync());
    for (let seq = 1; seq <= 5; seq++)
      await dev.publishAsync('usage/dns-dev', report(seq, 10, 100), { qos: 1 });
    expect(await settledTotals(rater, 'dns-dev', 5)).toEqual({ up: 50, down: 500, records: 5 });
  });
});

describe.skipIf(!hasPostgres)('three raters behind round-robin, one killed mid-run', () => {
  afterAll(() => killAllChildren());

  it('bills every acknowledged record exactly once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'edgemeter-scale-'));
    const logDir = join(root, 'logs');
    await mkdir(logDir);
    const db = await freshPostgresDatabase();
    const profile = { ...PROFILES.test, scenarioTimeoutMs: 120_000, settleTimeoutMs: 60_000 };
    const env = { profile, root, logDir, pgUrl: db.url };
    const perRater: number[] = [];
    let result: ScenarioResult;
    try {
      result = await runScenario(env, 'scale-out', 'so', async (s) => {
        const ports = [await freePort(), await freePort(), await freePort()];
        // One after the other: they migrate the same database (an advisory lock makes that
        // safe, but three tsx start-ups at once only slow each other on two cores).
        const raters: EdgemeterProcess[] = [];
        for (const [i, grpcPort] of ports.entries())
          raters.push(await s.rater(`rater-${i + 1}`, { grpcPort }));
        const list = ports.map((p) => `127.0.0.1:${p}`).join(',');
        const collectors = await Promise.all(
          ['gw-1', 'gw-2', 'gw-3'].map((name) => s.collector(name, list)),
        );
        const fleet = await s.devices(collectors, { devices: 6, recordsPerPublish: [1, 3] });

        // Round-robin: every replica commits batches, before any fault.
        await waitFor(
          async () => {
            for (const r of raters) if ((await batchesOk(r)) < 3) return undefined;
            return true;
          },
          'every rater to commit batches',
          60_000,
        );
        await fleet.waitAcked(200, 60_000);
        const victim = raters[1] as EdgemeterProcess;
        await victim.kill();
        s.measured.ackedAtKill = fleet.progress.acked;

        // The collectors go on with the two replicas left.
        const survivors = [raters[0], raters[2]] as EdgemeterProcess[];
        const after = await Promise.all(survivors.map(batchesOk));
        await fleet.waitAcked(fleet.progress.acked + 400, 60_000);
        await waitFor(
          async () => {
            const now = await Promise.all(survivors.map(batchesOk));
            return now.every((n, i) => n > (after[i] as number)) ? true : undefined;
          },
          'both remaining raters to commit batches after the kill',
          60_000,
        );
        const truth = await s.settle(collectors);
        for (const r of raters) perRater.push(r.running ? await batchesOk(r) : -1);
        s.measured.batchesPerRater = perRater.join('/');
        // Batches that failed on the killed replica and were sent again (to another one).
        let errors = 0;
        for (const c of collectors)
          errors += await metric(c, 'edgemeter_collector_forward_errors_total');
        s.measured.forwardErrors = errors;
        return s.result(truth, 1, collectors);
      });
    } finally {
      await db.drop();
    }
    if (result.ok) await rm(root, { recursive: true, force: true });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.acked).toBeGreaterThanOrEqual(600);
    expect(result.lost).toBe(0);
    expect(result.duplicated).toBe(0);
    expect(result.bytesExact).toBe(true);
    expect(result.billed).toBe(result.acked);
    // Both survivors took a share of the batches (the killed one reads -1).
    expect(perRater[0]).toBeGreaterThan(0);
    expect(perRater[2]).toBeGreaterThan(0);
  }, 180_000);
});
