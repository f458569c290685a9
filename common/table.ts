// Plain-text tables for terminal output. Numbers align right, text left.

export function renderTable(
  headers: string[],
  rows: Array<Array<string | number>>,
  alignRight?: boolean[],
): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const right =
    alignRight ?? headers.map((_, i) => rows.length > 0 && typeof rows[0]?.[i] === 'number');
  const line = (r: string[]) =>
    r
      .map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(headers), sep, ...cells.map(line)].join('\n');
}

/** 1234567 → "1,234,567" (exact; no rounding). */
export function groupDigits(n: number | bigint | string): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes as a short decimal figure for humans (1 MB = 1,000,000 B). Display only, never billing. */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(2)} ${units[u]}`;
}
