// Collector footprint: a real collector process (chaos/procs.ts) takes a backlog from the
// simulated device fleet (chaos/fleet.ts, its own process, QoS 1, arrays of 100 records per
// publish) while its rater is down, the way chaos/scenarios-volume.ts builds its 1 M backlog.
// With the whole backlog acknowledged and on disk: the collector's RSS (/proc/<pid>/status
// VmRSS) and the buffer directory's disk usage per record; then a rater starts on a fresh
// PostgreSQL database and the drain is timed from the first batch to an empty outbox.
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Benchmark } from './types.ts';
import { serverDatabase, table } from './util.ts';
import {
  collectorProcess,
  freePort,
  raterProcess,
  waitFor,
  type EdgemeterProcess,
} from '../chaos/procs.ts';
import { drained, metric, outboxRecords } from '../chaos/observe.ts';
import { Fleet } from '../chaos/fleet.ts';
import { collectorOptions } from '../collector/config.ts';

const run$ = promisify(execFile);

/** The OS process behind an EdgemeterProcess (chaos/procs.ts keeps the handle private). */
function pidOf(p: EdgemeterProcess): number {
  const pid = (p as unknown as { child?: ChildProcess }).child?.pid;
  if (pid === undefined) throw new Error(`${p.name} has no process`);
  return pid;
}

/** VmRSS (and its anonymous part) and VmHWM of a process, in MB. */
async function memory(pid: number): Promise<{ rssMb: number; anonMb: number; hwmMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/**
 * Resident size of the `[heap]` mapping, in MB: malloc's main arena (the main thread's native
 * allocations: Node's buffers, not V8's heap, which has its own mappings).
 */
async function mainArena(pid: number): Promise<number> {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.indexOf('[heap]');
  if (at < 0) return 0;
  return Number(/^Rss:\s+(\d+) kB/m.exec(smaps.slice(at))?.[1] ?? NaN) / 1024;
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The V8 heap of a collector, in MB, from its own metrics: used, and reserved by the heap. */
async function heap(
  p: EdgemeterProcess,
): Promise<{ usedMb: number; totalMb: number; externalMb: number }> {
  const mb = async (name: string) =>
    (await metric(p, `edgemeter_collector_nodejs_${name}`)) / 2 ** 20;
  return {
    usedMb: await mb('heap_size_used_bytes'),
    totalMb: await mb('heap_size_total_bytes'),
    externalMb: await mb('external_memory_bytes'),
  };
}

/** Disk usage of a directory in bytes (du: allocated blocks) and its apparent size. */
async function du(dir: string): Promise<{ disk: number; apparent: number }> {
  const disk = Number((await run$('du', ['-s', '--block-size=1', dir])).stdout.split('\t')[0]);
  const apparent = Number((await run$('du', ['-sb', dir])).stdout.split('\t')[0]);
  return { disk, apparent };
}

const run: Benchmark = async ({ quick, log }) => {
  const n = quick ? 100_000 : 1_000_000;
  const devices = 100;
  const limitMs = quick ? 90_000 : 300_000;
  const root = await mkdtemp(join(tmpdir(), 'edgemeter-bench-footprint-'));
  const db = await serverDatabase('footprint');
  let fleet: Fleet | undefined;
  const procs: EdgemeterProcess[] = [];
  const m: Record<string, number> = {};
  try {
    const bufferDir = join(root, 'buffer');
    await mkdir(bufferDir);
    const grpcPort = await freePort();
    const rater = await raterProcess({ name: 'fp-rater', db: db.url, grpcPort }, root);
    const collector = await collectorProcess(
      { name: 'fp-collector', mqttPort: await freePort(), raterPort: grpcPort, bufferDir },
      root,
    );
    procs.push(rater, collector);
    // BENCH_FOOTPRINT_COLLECTOR="EDGEMETER_X=1 MALLOC_Y=2": collector options (and glibc malloc
    // tunables) to compare
    // (the harness passes no EDGEMETER_* variable of its own environment to the programs).
    for (const kv of (process.env.BENCH_FOOTPRINT_COLLECTOR ?? '').split(' ').filter(Boolean)) {
      const [k, ...v] = kv.split('=');
      if (k?.startsWith('EDGEMETER_') || k?.startsWith('MALLOC_')) collector.env[k] = v.join('=');
    }
    m.inFlight = Number(collector.env.EDGEMETER_FORWARD_MAX_IN_FLIGHT ?? 4);
    m.batchRecords = Number(
      collector.env.EDGEMETER_BATCH_MAX_RECORDS ??
        collectorOptions.batchMaxRecords.schema.parse(undefined),
    );
    await collector.start(60_000);
    const idle = await memory(pidOf(collector));
    m.idleRssMb = idle.rssMb;
    const perDevice = Math.ceil(n / devices);
    fleet = await Fleet.start({
      prefix: 'fp',
      brokers: [`mqtt://127.0.0.1:${collector.ports.mqtt}`],
      boot: '7',
      baseTsMs: Date.now() - 20 * 60_000,
      // Every device's records within the last 15 minutes of device time (the skew policy).
      stepMs: Math.max(1, Math.floor((15 * 60_000) / perDevice)),
      recordsPerPublish: [100],
      window: 4,
      maxRecords: n,
      publishTimeoutMs: 30_000,
      paceMs: 5,
      devices,
    });
    const cpu0 = await cpuSeconds(pidOf(collector));
    const t0 = Date.now();
    await fleet.waitAcked(n, limitMs);
    m.publishCpuS = (await cpuSeconds(pidOf(collector))) - cpu0;
    m.publishRecordsS = n / ((Date.now() - t0) / 1000);
    await waitFor(
      async () => ((await outboxRecords(collector)) === n ? true : undefined),
      `${n} records in the outbox`,
      30_000,
    );
    log(`footprint: ${n} records backlogged in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await fleet.close();
    fleet = undefined;
    // RSS of a collector holding the backlog, not publishing: after its two idle collections
    // (gcWhenIdleMs, 5 s by default, and as long again) have given the burst's memory back.
    await new Promise((r) => setTimeout(r, 12_000));
    const held = await memory(pidOf(collector));
    m.rssMb = held.rssMb;
    m.anonMb = held.anonMb;
    m.hwmMb = held.hwmMb;
    const h = await heap(collector);
    m.brkMb = await mainArena(pidOf(collector));
    m.heapUsedMb = h.usedMb;
    m.heapTotalMb = h.totalMb;
    m.externalMb = h.externalMb;
    const size = await du(bufferDir);
    m.diskBytesPerRecord = size.disk / n;
    m.apparentBytesPerRecord = size.apparent / n;
    // A restart with the backlog on disk: the memory of a collector that only holds it.
    const r0 = Date.now();
    await collector.restart(120_000);
    m.reopenS = (Date.now() - r0) / 1000;
    m.reopenRssMb = (await memory(pidOf(collector))).rssMb;
    log(
      `footprint: RSS ${m.rssMb.toFixed(0)} MB with the backlog, ${m.reopenRssMb.toFixed(0)} MB after a restart`,
    );

    // ---- the drain ----
    const d0 = Date.now();
    await rater.start(60_000);
    await waitFor(
      async () => ((await outboxRecords(collector)) ?? n) < n || undefined,
      'the first batch after the outage',
      60_000,
      20,
    );
    const first = Date.now();
    const drainCpu0 = await cpuSeconds(pidOf(collector));
    m.firstBatchS = (first - d0) / 1000;
    let peakRss = 0;
    const sampler = setInterval(() => {
      memory(pidOf(collector))
        .then((x) => (peakRss = Math.max(peakRss, x.rssMb)))
        .catch(() => {});
    }, 250);
    try {
      await drained([collector], limitMs);
    } finally {
      clearInterval(sampler);
    }
    m.drainS = (Date.now() - first) / 1000;
    m.drainCpuS = (await cpuSeconds(pidOf(collector))) - drainCpu0;
    m.drainRecordsS = n / m.drainS;
    m.drainPeakRssMb = peakRss;
    const tx = 'edgemeter_rater_ingest_transaction_seconds';
    const txN = await metric(rater, `${tx}_count`);
    m.txMs = txN > 0 ? (1000 * (await metric(rater, `${tx}_sum`))) / txN : NaN;
    m.batches = txN;
    m.raterCpuS = await metric(rater, 'edgemeter_rater_process_cpu_seconds_total');
    log(`footprint: drained ${n} records in ${m.drainS.toFixed(1)} s`);
  } finally {
    await fleet?.close().catch(() => {});
    await Promise.all(procs.map((p) => p.retire().catch(() => {})));
    await db.drop().catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
  const f = (k: string) => m[k] ?? NaN;
  return {
    figures: {
      // The key at either scale: the quick run's backlog is 100,000 records, which the
      // table, the notes and `collector_backlog_records` state.
      collector_rss_mb_1m_backlog: round(f('rssMb')),
      collector_backlog_records: n,
      collector_disk_bytes_per_record: round(f('diskBytesPerRecord')),
      drain_records_s: Math.round(f('drainRecordsS')),
    },
    table: table(
      ['measure', 'value'],
      [
        ['backlog records', n],
        ['publish rate while the rater is down, records/s', f('publishRecordsS')],
        ['collector CPU taking the backlog, µs per record', (1e6 * f('publishCpuS')) / n],
        ['collector RSS idle, MB', f('idleRssMb')],
        ['collector RSS holding the backlog, MB', f('rssMb')],
        [
          '· anonymous / V8 heap used / V8 heap reserved / external (buffers) / malloc main arena, MB',
          `${f('anonMb').toFixed(0)} / ${f('heapUsedMb').toFixed(0)} / ${f('heapTotalMb').toFixed(0)} / ${f('externalMb').toFixed(0)} / ${f('brkMb').toFixed(0)}`,
        ],
        ['collector peak RSS (VmHWM) while taking it, MB', f('hwmMb')],
        ['collector RSS after a restart with the backlog, MB', f('reopenRssMb')],
        ['restart with the backlog on disk, s', f('reopenS')],
        ['disk bytes per buffered record (du)', f('diskBytesPerRecord')],
        ['apparent bytes per buffered record', f('apparentBytesPerRecord')],
        ['rater start to first batch, s', f('firstBatchS')],
        ['drain time, s', f('drainS')],
        ['drain rate, records/s', f('drainRecordsS')],
        [
          'collector CPU while draining, µs per record / share of a core',
          `${((1e6 * f('drainCpuS')) / n).toFixed(1)} / ${((100 * f('drainCpuS')) / f('drainS')).toFixed(0)} %`,
        ],
        ['collector peak RSS while draining, MB', f('drainPeakRssMb')],
        ['rater batches / avg store transaction ms', `${f('batches')} / ${f('txMs').toFixed(0)}`],
      ],
    ),
    notes: [
      `${n} records from ${devices} devices (100 records per publish); rater on PostgreSQL` +
        (quick ? "; quick run: 1/10 of the issue's 1 M backlog, reported under its keys" : ''),
      `drain: up to forwardMaxInFlight (${f('inFlight')}) batches in flight; the rater's store transaction ` +
        `averaged ${f('txMs').toFixed(0)} ms per batch of up to ${f('batchRecords')}; rater CPU ${f('raterCpuS').toFixed(1)} s ` +
        `over ${f('drainS').toFixed(1)} s of drain`,
      `RSS holding the backlog is read 12 s after the last publish, once the collector's two idle ` +
        `collections (gcWhenIdleMs, 5 s, and 5 s later) have run`,
    ],
  };
};

const round = (x: number) => Math.round(x * 10) / 10;

export default run;
