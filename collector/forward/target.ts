// Where the forwarder sends batches: one rater, a fixed list of raters, or every address a DNS
// name resolves to. Several raters are safe because deduplication lives in the database
// (PRODUCT.md, Scale); grpc-js spreads the batches over them with its round_robin policy and
// skips a rater whose connection is down.
//
// grpc-js resolves a list only through its ipv4:/ipv6: schemes (one family, literal addresses,
// each with its own port): there is no built-in resolver for a list of host names, so a list
// must hold IP addresses and names go through `dns:` (grpc/grpc-node#1307, #1752).
import { isIPv4, isIPv6 } from 'node:net';

export interface RaterTarget {
  /** The grpc-js channel target. */
  target: string;
  /** The grpc-js service config: round_robin for a list or a dns: name, else undefined. */
  serviceConfig?: string;
  /** How many fixed addresses (a dns: name counts as 1; it may resolve to more). */
  addresses: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

const FORMS =
  'host:port, a comma-separated list of IP address:port (10.0.0.1:50051,10.0.0.2:50051), or dns:name:port';

/** Parses the collector's `rater` option; throws an Error naming the problem. */
export function parseRaterTarget(value: string): RaterTarget {
  const text = value.trim();
  if (text.startsWith('dns:')) {
    // grpc-js accepts both dns:name:port and dns:///name:port; an authority (dns://8.8.8.8/…)
    // would pick a DNS server, which the collector has no business doing.
    const rest = text.slice('dns:'.length).replace(/^\/\/\//, '');
    if (!HOST_PORT.test(rest))
      throw new Error(`"${value}": after dns: give one name:port, e.g. dns:raters.internal:50051`);
    checkPort(rest);
    return { target: `dns:${rest}`, serviceConfig: ROUND_ROBIN, addresses: 1 };
  }
  const parts = text.split(',').map((p) => p.trim());
  for (const p of parts) {
    if (!HOST_PORT.test(p))
      throw new Error(
        parts.length === 1 ? `must be ${FORMS}` : `must be ${FORMS}: "${p}" is not host:port`,
      );
    checkPort(p);
  }
  if (parts.length === 1) return { target: parts[0] as string, addresses: 1 };

  const hosts = parts.map((p) => p.slice(0, p.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1'));
  const names = hosts.filter((h) => !isIPv4(h) && !isIPv6(h));
  if (names.length > 0)
    throw new Error(
      `a list of raters must be IP addresses (${names.join(', ')} ${names.length === 1 ? 'is a name' : 'are names'}); ` +
        'for names, use one DNS name that resolves to every rater: dns:name:port',
    );
  const v4 = hosts.every((h) => isIPv4(h));
  if (!v4 && !hosts.every((h) => isIPv6(h)))
    throw new Error('a list of raters must be all IPv4 or all IPv6 addresses, not a mix');
  if (new Set(parts).size !== parts.length)
    throw new Error(`the list of raters names an address twice: ${text}`);
  return {
    target: `${v4 ? 'ipv4' : 'ipv6'}:${parts.join(',')}`,
    serviceConfig: ROUND_ROBIN,
    addresses: parts.length,
  };
}

function checkPort(hostPort: string): void {
  const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  if (port < 1 || port > 65_535) throw new Error(`"${hostPort}": port must be from 1 to 65535`);
}
