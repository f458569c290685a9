// The fault scenarios. Each one runs real `edgemeter` processes and a separate devices process,
// injects its faults while records flow, then lets the devices deliver everything they still
// hold and checks the bill against what the devices got acknowledged (chaos/verify.ts).
// Waits on conditions have hard limits; the only sleeps pick random fault moments and durations.
import { metric, outboxRecords } from './observe.ts';
import { freePort, sleep, waitFor, type EdgemeterProcess } from './procs.ts';
import { runScenario, skipped, type ChaosEnv, type ScenarioResult, type Stage } from './stage.ts';

export const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

const RATER_OK = ['edgemeter_rater_batches_total', 'result="ok"'] as const;
const FORWARD_ERRORS = 'edgemeter_collector_forward_errors_total';

/** Waits until the rater committed `n` more batches: it is up and ingesting. */
async function raterCommits(rater: EdgemeterProcess, n: number, timeoutMs = 30_000) {
  const target = (await metric(rater, ...RATER_OK)) + n;
  await waitFor(
    async () => {
      if (!rater.running) throw new Error(`${rater.name} is not running`);
      return (await metric(rater, ...RATER_OK)) >= target ? true : undefined;
    },
    `${rater.name} to commit ${n} more batches`,
    timeoutMs,
  );
}

/** Duplicates the rater absorbed since it started (resends that changed no total). */
export const absorbed = (rater: EdgemeterProcess) =>
  metric(rater, 'edgemeter_rater_records_total', 'result="duplicate"');

/**
 * Waits (at most 3 s) until a rater's ingest transaction is open in PostgreSQL: `busy` while a
 * statement runs, `between` when it is idle in transaction (between two statements). False on
 * the embedded database, or when none was seen.
 */
async function raterTransaction(s: Stage, when: 'busy' | 'between'): Promise<boolean> {
  if (s.embedded) return false;
  const sql = await s.sql();
  const state = when === 'busy' ? "state = 'active'" : "state = 'idle in transaction'";
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    const [row] = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'edgemeter-rater'
         AND xact_start IS NOT NULL AND ${state}`,
    );
    if (Number(row?.n) > 0) return true;
  }
  return false;
}

/** 1. SIGKILL of the collector at random moments while devices publish; same buffer dir. */
export function collectorKill(env: ChaosEnv): Promise<ScenarioResult> {
  return runScenario(env, 'collector SIGKILL', 'ck', async (s) => {
    const p = env.profile;
    const grpcPort = await freePort();
    const [rater, collector] = await Promise.all([
      s.rater('rater', { grpcPort }),
      s.collector('collector', grpcPort),
    ]);
    // Mostly single-record publishes (one fsync group each) and some arrays (many records in
    // one synced batch), so kills land inside group commits as well as between them.
    const fleet = await s.devices([collector], {
      devices: p.devices,
      recordsPerPublish: [1, 1, 8],
      invalidEvery: 40,
    });
    let backlogAtKill = 0;
    for (let t = 0; t < p.collectorKills; t++) {
      await fleet.waitAcked(fleet.progress.acked + p.ackedBetweenFaults, 30_000);
      await sleep(random(0, 250));
      backlogAtKill = Math.max(backlogAtKill, (await outboxRecords(collector)) ?? 0);
      await collector.restart(60_000);
    }
    s.measured.maxOutboxAtKill = backlogAtKill;
    const truth = await s.settle([collector]);
    // Records on disk whose PUBACK the kill swallowed, and batches resent after a crash
    // between the rater's commit and the outbox delete: all arrive twice.
    s.measured.duplicatesAbsorbed = await absorbed(rater);
    return s.result(truth, p.collectorKills, [collector]);
  });
}

/** 2. SIGKILL of the rater while it is committing batches; restarted on the same port. */
export function raterKill(env: ChaosEnv): Promise<ScenarioResult> {
  return runScenario(env, 'rater SIGKILL', 'rk', async (s) => {
    const p = env.profile;
    const grpcPort = await freePort();
    const [rater, collector] = await Promise.all([
      s.rater('rater', { grpcPort }),
      s.collector('collector', grpcPort),
    ]);
    // Arrays keep the outbox full, so a batch is nearly always in a rater transaction.
    const fleet = await s.devices([collector], { devices: p.devices, recordsPerPublish: [10, 25] });
    let inTx = 0;
    for (let t = 0; t < p.raterKills; t++) {
      await fleet.waitAcked(fleet.progress.acked + p.ackedBetweenFaults, 30_000);
      await raterCommits(rater, 2);
      // Every other kill aims between BEGIN and COMMIT; the rest land anywhere, including
      // after a COMMIT whose answer never left.
      if (t % 2 === 0 && (await raterTransaction(s, 'busy'))) inTx++;
      else await sleep(random(0, 150));
      await rater.restart(60_000);
    }
    s.measured.killsInTransaction = inTx;
    const truth = await s.settle([collector]);
    s.measured.failedBatchCalls = await metric(collector, FORWARD_ERRORS);
    return s.result(truth, p.raterKills, [collector]);
  });
}

/**
 * 3. The database goes away: first short blips that cut the rater's connections between two
 * statements of an ingest transaction, then outages in which it refuses connections, "starts
 * up" (accepts and closes them), and comes back. The rater must answer UNAVAILABLE meanwhile
 * and carry on without a restart.
 */
export function dbOutage(env: ChaosEnv): Promise<ScenarioResult> {
  const name = 'database refusing';
  if (!env.pgUrl) return Promise.resolve(skipped(name, 'needs a PostgreSQL server'));
  const pgUrl = env.pgUrl;
  return runScenario(env, name, 'db', async (s) => {
    const p = env.profile;
    const server = new URL(pgUrl);
    const proxy = await s.proxy(Number(server.port || 5432));
    const via = new URL(pgUrl);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    const grpcPort = await freePort();
    const [rater, collector] = await Promise.all([
      s.rater('rater', { grpcPort, db: via.toString() }),
      s.collector('collector', grpcPort),
    ]);
    const fleet = await s.devices([collector], { devices: p.devices, recordsPerPublish: [5] });
    let between = 0;
    for (let t = 0; t < p.dbBlips; t++) {
      await fleet.waitAcked(fleet.progress.acked + p.ackedBetweenFaults, 30_000);
      await raterCommits(rater, 1);
      if (await raterTransaction(s, 'between')) between++;
      proxy.cutAll();
      await raterCommits(rater, 1);
    }
    s.measured.blipsBetweenStatements = between;
    let recoverMs = 0;
    for (let t = 0; t < p.dbOutages; t++) {
      await fleet.waitAcked(fleet.progress.acked + p.ackedBetweenFaults, 30_000);
      await raterCommits(rater, 2);
      const unavailable = () => metric(collector, FORWARD_ERRORS, 'code="UNAVAILABLE"');
      const before = await unavailable();
      await proxy.refuse(); // cuts open connections (mid-transaction) and refuses new ones
      // The rater must say UNAVAILABLE (never OK, never a crash) while the database is gone.
      await waitFor(
        async () => ((await unavailable()) > before ? true : undefined),
        'the rater to answer UNAVAILABLE',
        20_000,
      );
      await sleep(p.outageMs);
      await proxy.reopen();
      proxy.dropNew(true); // "the database system is starting up": accepted, then closed
      await sleep(p.outageMs / 2);
      proxy.pass();
      const back = Date.now();
      await raterCommits(rater, 1, 30_000);
      recoverMs = Math.max(recoverMs, Date.now() - back);
    }
    const truth = await s.settle([collector]);
    s.measured.unavailableAnswers = await metric(collector, FORWARD_ERRORS, 'code="UNAVAILABLE"');
    s.measured.maxRecoverMs = recoverMs;
    s.measured.raterStarts = rater.starts;
    s.measured.duplicatesAbsorbed = await absorbed(rater);
    const result = await s.result(truth, p.dbBlips + p.dbOutages, [collector]);
    if (rater.starts !== 1 || !rater.running) {
      result.problems.push('the rater had to be restarted to recover');
      result.ok = false;
    }
    return result;
  });
}

/** 4. A flaky network between collector and rater: delays, cut connections, refusals. */
export function flakyNetwork(env: ChaosEnv): Promise<ScenarioResult> {
  return runScenario(env, 'flaky network', 'fn', async (s) => {
    const p = env.profile;
    const grpcPort = await freePort();
    const proxy = await s.proxy(grpcPort);
    const [rater, collector] = await Promise.all([
      s.rater('rater', { grpcPort }),
      s.collector('collector', proxy.port),
    ]);
    const fleet = await s.devices([collector], {
      devices: p.devices,
      recordsPerPublish: [1, 10],
      invalidEvery: 40,
    });
    await fleet.waitAcked(p.ackedBetweenFaults, 30_000);
    const seen: Record<string, number> = {};
    for (let t = 0; t < p.flakyChanges; t++) {
      const fault = (['delay', 'cut', 'drop', 'refuse', 'pass'] as const)[random(0, 4)] ?? 'pass';
      seen[fault] = (seen[fault] ?? 0) + 1;
      if (fault === 'delay') proxy.delay(random(20, 400));
      else if (fault === 'cut') proxy.cutAll();
      else if (fault === 'drop') {
        proxy.dropNew(true); // reconnects are accepted and closed at once
        proxy.cutAll();
      } else if (fault === 'refuse') await proxy.refuse();
      else proxy.pass();
      await sleep(random(150, 600)); // how long this fault lasts
      if (fault === 'drop') proxy.dropNew(false);
      if (fault === 'refuse') await proxy.reopen();
    }
    proxy.pass();
    const truth = await s.settle([collector]);
    Object.assign(s.measured, {
      faults: Object.entries(seen)
        .map(([k, v]) => `${k}×${v}`)
        .join(' '),
      connectionsCut: proxy.stats.cut,
      connectionsDropped: proxy.stats.dropped,
      failedBatchCalls: await metric(collector, FORWARD_ERRORS),
      duplicatesAbsorbed: await absorbed(rater),
    });
    return s.result(truth, p.flakyChanges, [collector]);
  });
}
