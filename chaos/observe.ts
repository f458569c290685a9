// What the harness reads from running edgemeter processes over their HTTP endpoints: outbox
// size (/readyz), Prometheus counters (/metrics) and dead letters (/v1/dead-letters).
import { getJson, waitFor, type EdgemeterProcess } from './procs.ts';

interface Readiness {
  outbox?: { records: number; bytes: number };
}

/** Records still in a collector's outbox (from /readyz, which answers 200 or 503 with them). */
export async function outboxRecords(collector: EdgemeterProcess): Promise<number | undefined> {
  const r = await getJson<Readiness>(`http://127.0.0.1:${collector.httpPort}/readyz`);
  return r?.body.outbox?.records;
}

/** Waits until every given collector's outbox is empty, i.e. the rater committed all of it. */
export async function drained(collectors: EdgemeterProcess[], timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      for (const c of collectors) if ((await outboxRecords(c)) !== 0) return undefined;
      return true;
    },
    `outboxes of ${collectors.map((c) => c.name).join(', ')} to drain`,
    timeoutMs,
    100,
  );
}

/** Sums a Prometheus counter over all label sets matching `labels` (e.g. 'code="UNAVAILABLE"'). */
export async function metric(proc: EdgemeterProcess, name: string, labels = ''): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${proc.httpPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith(name) || (labels && !line.includes(labels))) continue;
      if (line[name.length] !== ' ' && line[name.length] !== '{') continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch {
    return 0;
  }
}

/** Dead letters of a collector, counted by code (all pages of /v1/dead-letters). */
export async function deadLettersByCode(
  collector: EdgemeterProcess,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let after: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const q = `limit=1000${after ? `&after=${after}` : ''}`;
    const r = await getJson<{ deadLetters?: Array<{ seq: string; code: string }> }>(
      `http://127.0.0.1:${collector.httpPort}/v1/dead-letters?${q}`,
    );
    const letters = r?.body.deadLetters ?? [];
    for (const l of letters) out[l.code] = (out[l.code] ?? 0) + 1;
    if (letters.length < 1000) break;
    after = letters[letters.length - 1]?.seq;
  }
  return out;
}
