/** Splits `host:port` (or `[v6]:port`) into its parts. The config schema has validated the form. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(addr.slice(i + 1)) };
}

/**
 * True for addresses only this machine can reach: 127.0.0.0/8 (also IPv4-mapped), ::1 and
 * `localhost`.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
