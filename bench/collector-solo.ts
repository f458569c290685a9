// The collector alone: what one collector's MQTT intake costs per message, without a rater or a
// database on the same cores. A real collector (embedded broker, LevelDB outbox with synced group
// commits, forwarder reading the outbox and acknowledging) runs in this process with a sender
// that answers every batch at once; the load generator of benchmark 1 (bench/mqtt-load.ts) runs
// in its own process. With `--broker aedes`, a bare aedes broker takes the collector's place.
// Not part of `npm run bench`: it answers gateway sizing ("publishes per second per core") and
// shows how the cost per message depends on how many publishes wait together.
//
//   node --import tsx bench/collector-solo.ts [--broker collector|aedes] [--connections 100]
//     [--window 8] [--seconds 10]
//
// It runs with the environment the deployment files give the collector (DEPLOYED_ENV: two malloc
// arenas, 64 MB semi-spaces), re-executing itself under it. CPU is this process's (every thread:
// LevelDB's and V8's helpers included) over the measured window.
import { fork, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { DEPLOYED_ENV, REPO } from '../chaos/procs.ts';
import { Collector } from '../collector/collector.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import type { BatchSender } from '../collector/forward/forwarder.ts';
import { silentLogger } from '../common/logger.ts';
import type { LoadConfig, LoadResult } from './mqtt-load.ts';
import { fmt, table } from './util.ts';

if (process.env.MALLOC_ARENA_MAX !== DEPLOYED_ENV.MALLOC_ARENA_MAX) {
  const run = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, ...DEPLOYED_ENV },
    stdio: 'inherit',
  });
  process.exit(run.status ?? 1);
}

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const broker = arg('broker', 'collector');
const connections = Number(arg('connections', '100'));
const window = Number(arg('window', '8'));
const seconds = Number(arg('seconds', '10'));
if (broker !== 'collector' && broker !== 'aedes') throw new Error('--broker collector|aedes');

/** Acknowledges every batch at once: the rater's work is not this benchmark's. */
const instantRater: BatchSender = {
  send: () => Promise.resolve({ accepted: 0, duplicates: 0, conflicts: 0, rejected: [] }),
};

const dir = await mkdtemp(path.join(tmpdir(), 'edgemeter-solo-'));
let collector: Collector | undefined;
let server: net.Server | undefined;
let port: number;
if (broker === 'collector') {
  const config = loadCollectorConfig({
    env: {},
    flags: {
      collectorId: 'solo',
      mqttListen: '127.0.0.1:0',
      httpListen: '127.0.0.1:0',
      rater: '127.0.0.1:1', // never dialled: the sender above answers
      bufferDir: dir,
    },
  });
  collector = await new Collector(config, { logger: silentLogger(), sender: instantRater }).start();
  port = collector.mqttPort;
} else {
  const aedes = await Aedes.createBroker();
  const s = net.createServer(aedes.handle);
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  port = (s.address() as net.AddressInfo).port;
}

const load: LoadConfig = {
  url: `mqtt://127.0.0.1:${port}`,
  prefix: `solo${Date.now()}`,
  connections,
  window,
  warmupMs: 3000,
  durationMs: seconds * 1000,
};
const gen = fork(path.join(REPO, 'bench/mqtt-load.ts'), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const answer = new Promise<{ result?: LoadResult; error?: string }>((resolve) =>
  gen.once('message', (m) => resolve(m as { result?: LoadResult; error?: string })),
);
gen.send(load);
await new Promise((r) => setTimeout(r, load.warmupMs));
const before = process.cpuUsage();
const outbox0 = collector?.outboxStats();
await new Promise((r) => setTimeout(r, load.durationMs));
const cpu = process.cpuUsage(before);
const outbox1 = collector?.outboxStats();
const m = await answer;
gen.kill();
if (!m.result) throw new Error(`load generator: ${m.error}`);

const acked = m.result.acked;
const us = (n: number) => fmt(n / acked, 1);
const delta = (k: 'batchWrites' | 'appended') => (outbox1?.[k] ?? 0) - (outbox0?.[k] ?? 0);
const perWrite = delta('batchWrites') > 0 ? delta('appended') / delta('batchWrites') : undefined;
console.log(
  `\n${broker} alone: ${connections} connections × ${window} QoS 1 publishes in flight, ${seconds} s measured after 3 s warm-up`,
);
console.log(
  table(
    ['msgs/s', 'CPU µs/msg', 'user', 'system', 'cores used', 'publishes per synced write'],
    [
      [
        fmt(acked / m.result.seconds),
        us(cpu.user + cpu.system),
        us(cpu.user),
        us(cpu.system),
        fmt((cpu.user + cpu.system) / 1e6 / seconds, 2),
        perWrite === undefined ? '—' : fmt(perWrite, 1),
      ],
    ],
  ),
);
if (collector) {
  await collector.drained(30_000).catch(() => undefined);
  await collector.close();
}
server?.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);
