// The volume scenarios: duplicate storms (the same records through every path at once) and a
// long rater outage that leaves a large backlog on the collector's disk. Like the fault
// scenarios (chaos/scenarios.ts) they end with the bill checked against the devices' truth.
import { cp } from 'node:fs/promises';
import { drained, metric, outboxRecords } from './observe.ts';
import { freePort, waitFor } from './procs.ts';
import { absorbed } from './scenarios.ts';
import { runScenario, type ChaosEnv, type ScenarioResult } from './stage.ts';

/**
 * 5. Duplicate storms: every record goes to two collectors, each forwarding to its own rater
 * replica on the same database; devices re-send everything they had acknowledged; and a copy of
 * a crashed collector's outbox is replayed through a third collector after the original had
 * delivered it (a collector re-sending acknowledged batches, with the same batch ids).
 */
export function duplicateStorm(env: ChaosEnv): Promise<ScenarioResult> {
  return runScenario(env, 'duplicate storm', 'ds', async (s) => {
    const p = env.profile;
    const [p1, p2] = [await freePort(), await freePort()];
    // PGlite serves one process, so without a server both collectors share one rater.
    const twoRaters = !s.embedded;
    const [r1, r2, a, b] = await Promise.all([
      s.rater('rater-1', { grpcPort: p1 }),
      twoRaters ? s.rater('rater-2', { grpcPort: p2 }) : undefined,
      s.collector('collector-a', p1),
      s.collector('collector-b', twoRaters ? p2 : p1),
    ]);
    const raters = r2 ? [r1, r2] : [r1];
    const fleet = await s.devices([a, b], { devices: p.devices, recordsPerPublish: [1, 5] });
    await fleet.waitAcked(p.ackedBetweenFaults, 30_000);
    // Freeze a copy of A's outbox as it was at a crash.
    await a.kill();
    const snapshot = await s.dir('collector-a-snapshot');
    await cp(a.env.EDGEMETER_BUFFER_DIR as string, snapshot, { recursive: true });
    await a.start(60_000);
    for (let t = 0; t < p.stormResends; t++) {
      await fleet.waitAcked(fleet.progress.acked + p.ackedBetweenFaults, 30_000);
      await fleet.resend(60_000);
    }
    const truth = await s.settle([a, b]);
    // Replay the old outbox under A's identity, towards the other replica.
    const replay = await s.collector('collector-a-replay', twoRaters ? p2 : p1, {
      bufferDir: snapshot,
      collectorId: 'collector-a',
    });
    await drained([replay], p.settleTimeoutMs);
    const forwarded = (result: string) =>
      metric(replay, 'edgemeter_collector_forwarded_records_total', `result="${result}"`);
    const replayAccepted = await forwarded('accepted');
    s.measured.replayedRecords = replayAccepted + (await forwarded('duplicate'));
    s.measured.raterReplicas = raters.length;
    let dups = 0;
    for (const r of raters) dups += await absorbed(r);
    s.measured.duplicatesAbsorbed = dups;
    const result = await s.result(truth, p.stormResends, [a, b, replay]);
    // Everything in the old outbox had been delivered by A: the replay must add nothing.
    if (replayAccepted > 0) {
      result.problems.push(`the replayed outbox added ${replayAccepted} records`);
      result.ok = false;
    }
    return result;
  });
}

/** 6. A long rater outage: the backlog piles up on the collector's disk, then drains. */
export function backlog(env: ChaosEnv): Promise<ScenarioResult> {
  const limits = {
    ...env,
    profile: { ...env.profile, scenarioTimeoutMs: env.profile.backlogTimeoutMs },
  };
  return runScenario(limits, 'long outage, backlog', 'bl', async (s) => {
    const p = env.profile;
    const n = p.backlogRecords;
    const grpcPort = await freePort();
    const rater = await s.rater('rater', { grpcPort, start: false });
    const collector = await s.collector('collector', grpcPort);
    const perDevice = Math.ceil(n / p.backlogDevices);
    const fleet = await s.devices([collector], {
      devices: p.backlogDevices,
      // Devices flushing their own buffers: arrays of 100 records per publish.
      recordsPerPublish: [100],
      window: 4,
      maxRecords: n,
      // Keep every device's records within the last 20 minutes of device time.
      stepMs: Math.max(1, Math.floor((15 * 60_000) / perDevice)),
      publishTimeoutMs: 30_000,
    });
    const t0 = Date.now();
    await fleet.waitAcked(n, p.backlogTimeoutMs);
    s.measured.publishRate = Math.round(n / ((Date.now() - t0) / 1000));
    s.measured.onDisk = await waitFor(
      async () => ((await outboxRecords(collector)) === n ? n : undefined),
      `${n} records in the outbox`,
      10_000,
    );
    // A restart with the whole backlog on disk: opening rescans it to rebuild the counters.
    const r0 = Date.now();
    await collector.restart(120_000);
    s.measured.reopenSeconds = (Date.now() - r0) / 1000;
    // The outage goes on after the restart until the forwarder has failed a number of times,
    // so the time to the first batch includes any reconnect backoff a long outage builds up.
    await waitFor(
      async () =>
        (await metric(collector, 'edgemeter_collector_forward_errors_total')) >=
        p.backlogFailuresBeforeUp
          ? true
          : undefined,
      `${p.backlogFailuresBeforeUp} failed batch calls`,
      60_000,
    );
    const d0 = Date.now();
    await rater.start(60_000);
    const ready = Date.now();
    await waitFor(
      async () => ((await outboxRecords(collector)) ?? n) < n || undefined,
      'the first batch after the outage',
      120_000,
    );
    const first = Date.now();
    s.measured.firstBatchSeconds = (first - d0) / 1000;
    // From the rater answering to the collector using it: the collector's reconnect delay.
    s.measured.reconnectSeconds = (first - ready) / 1000;
    await drained([collector], p.backlogTimeoutMs);
    // The rate counts from the first batch: rater start-up is not drain time.
    s.measured.drainSeconds = (Date.now() - first) / 1000;
    s.measured.drainRate = Math.round(n / ((Date.now() - first) / 1000));
    // One batch is in flight per collector, so the rater's transaction time bounds the drain.
    const tx = 'edgemeter_rater_ingest_transaction_seconds';
    const txCount = await metric(rater, `${tx}_count`);
    if (txCount > 0)
      s.measured.avgTransactionMs = Math.round(
        (1000 * (await metric(rater, `${tx}_sum`))) / txCount,
      );
    const truth = await s.settle([collector]);
    return s.result(truth, 1, [collector]);
  });
}
