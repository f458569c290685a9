// How hard each scenario pushes: the full run (`npm run chaos`, under 10 minutes on the 2-core
// development machine), the quick run (`--quick` or CHAOS_QUICK=1, under 90 s) and the test
// suite's run (test/chaos.test.ts, about a minute, next to other test files).
export interface Profile {
  name: 'full' | 'quick' | 'test';
  /** Devices publishing in the fault scenarios (1–5). */
  devices: number;
  /** Records acknowledged between two faults, so every fault hits a pipeline in motion. */
  ackedBetweenFaults: number;
  collectorKills: number;
  raterKills: number;
  /** Cuts of the rater's database connections between two statements of a transaction. */
  dbBlips: number;
  dbOutages: number;
  /** How long the database refuses connections in one outage. */
  outageMs: number;
  /** Changes of the collector→rater network's behaviour. */
  flakyChanges: number;
  /** Rounds in which every device re-sends everything it had acknowledged. */
  stormResends: number;
  /** Records on the collector's disk before the rater comes back (scenario 6). */
  backlogRecords: number;
  backlogDevices: number;
  /** Failed batch calls of the restarted collector before the rater comes back. */
  backlogFailuresBeforeUp: number;
  /** Devices flushing and outboxes draining after the faults. */
  settleTimeoutMs: number;
  /** Hard limit of one scenario; the backlog scenario gets `backlogTimeoutMs`. */
  scenarioTimeoutMs: number;
  backlogTimeoutMs: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    devices: 20,
    ackedBetweenFaults: 300,
    collectorKills: 12,
    raterKills: 6,
    dbBlips: 6,
    dbOutages: 3,
    outageMs: 2000,
    flakyChanges: 30,
    stormResends: 3,
    backlogRecords: 1_000_000,
    backlogDevices: 100,
    backlogFailuresBeforeUp: 25,
    settleTimeoutMs: 90_000,
    scenarioTimeoutMs: 150_000,
    backlogTimeoutMs: 360_000,
  },
  quick: {
    name: 'quick',
    devices: 10,
    ackedBetweenFaults: 100,
    collectorKills: 3,
    raterKills: 2,
    dbBlips: 3,
    dbOutages: 1,
    outageMs: 1000,
    flakyChanges: 8,
    stormResends: 1,
    backlogRecords: 20_000,
    backlogDevices: 20,
    backlogFailuresBeforeUp: 5,
    settleTimeoutMs: 30_000,
    scenarioTimeoutMs: 45_000,
    backlogTimeoutMs: 60_000,
  },
  test: {
    name: 'test',
    devices: 8,
    ackedBetweenFaults: 50,
    collectorKills: 2,
    raterKills: 1,
    dbBlips: 3,
    dbOutages: 1,
    outageMs: 800,
    flakyChanges: 5,
    stormResends: 1,
    backlogRecords: 10_000,
    backlogDevices: 10,
    backlogFailuresBeforeUp: 3,
    settleTimeoutMs: 30_000,
    scenarioTimeoutMs: 45_000,
    backlogTimeoutMs: 60_000,
  },
};
