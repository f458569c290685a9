// The one contract between `npm run bench` (bench/run.ts) and each benchmark module.
// A benchmark is measurement only: it starts what it needs on loopback, bounds its own time,
// cleans up after itself, and never asserts.

export interface BenchOptions {
  /** BENCH_QUICK=1: a reduced run (same keys), all benchmarks together under three minutes. */
  quick: boolean;
  /** Where to print progress and the human table. */
  log: (line: string) => void;
}

export interface BenchResult {
  /** Figures for the closing JSON line, keyed as in bench/README.md (e.g. aedes_qos1_msgs_s). */
  figures: Record<string, number>;
  /** The human table for this benchmark (already rendered). */
  table: string;
  /** What bounds the figures, as observed (a profile or a measurement, not a guess). */
  notes?: string[];
}

export type Benchmark = (o: BenchOptions) => Promise<BenchResult>;
