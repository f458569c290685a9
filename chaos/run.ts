// `npm run chaos`: the delivery guarantees against real processes and real faults.
//   npm run chaos                      full run (< 10 min): 1,000,000-record backlog
//   npm run chaos -- --quick           short run (< 90 s); also CHAOS_QUICK=1
//   npm run chaos -- rater-kill …      only the named scenarios (ids in chaos/harness.ts)
//   CHAOS_DB=embedded npm run chaos    raters on embedded:<dir> instead of PostgreSQL
// Prints a table, then one JSON line ({"chaos": …}) for scripts; exits 1 when a scenario failed.
import { DEFAULT_PG_URL, SCENARIOS, runChaos, summary } from './harness.ts';
import { killAllChildren } from './procs.ts';
import { PROFILES } from './profiles.ts';

const args = process.argv.slice(2);
const quick = process.env.CHAOS_QUICK === '1' || args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));
const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id));
if (unknown.length > 0) {
  console.error(
    `chaos: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`,
  );
  process.exit(2);
}

// Ctrl-C: no process of ours may outlive the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });

const profile = PROFILES[quick ? 'quick' : 'full'];
const started = Date.now();
console.log(
  process.env.CHAOS_DB === 'embedded'
    ? `edgemeter chaos: ${profile.name} run on the embedded database`
    : `edgemeter chaos: ${profile.name} run, PostgreSQL at ${DEFAULT_PG_URL} if reachable`,
);
const run = await runChaos({
  profile,
  // CHAOS_DB=embedded runs the raters on the embedded database even when a server is there.
  ...(process.env.CHAOS_DB === 'embedded' ? { pgAdminUrl: null } : {}),
  ...(only.length > 0 ? { only } : {}),
  log: (line) => console.log(line),
});
console.log('');
console.log(summary(run));
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(JSON.stringify({ chaos: { ...run, seconds: (Date.now() - started) / 1000 } }));
killAllChildren();
process.exit(run.ok ? 0 : 1);
