// Reads Prometheus text exposition (what /metrics serves) the way a scraper does, enough for
// the tests: metric families by their # TYPE lines, and samples by name and labels.

export interface Scrape {
  /** Metric family names declared with # TYPE. */
  families: Set<string>;
  /** The value of the sample `name{labels}`; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

export function parseProm(text: string): Scrape {
  const families = new Set<string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) \S+$/.exec(line);
    if (type) families.add(type[1] as string);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return {
    families,
    value(name, labels = {}) {
      const hit = samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      return hit?.value;
    },
  };
}

export async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain'))
    throw new Error(`/metrics content type ${res.headers.get('content-type')}`);
  return parseProm(await res.text());
}
