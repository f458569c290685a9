// API keys and their roles (docs/security.md#api-keys-and-roles). Keys come from
// EDGEMETER_API_KEYS (`key:role,key:role`) or the config file; only their SHA-256 digests are
// kept in memory, and each key is known in logs and the audit log by a stable non-secret id.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * What a role may do. `admin`: everything, including catalog changes and the audit log.
 * `billing`: read usage, charges, invoices and the catalog, and issue invoices (issuing is the
 * billing team's act; it is audited). `readonly`: read usage, charges, invoices and the catalog,
 * change nothing (dashboards, a customer portal backend).
 */
export const ROLES = ['admin', 'billing', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs; `public` routes need no key at all. */
export type Access = 'public' | 'read' | 'issue' | 'admin';

const GRANTS: Record<Role, readonly Access[]> = {
  admin: ['public', 'read', 'issue', 'admin'],
  billing: ['public', 'read', 'issue'],
  readonly: ['public', 'read'],
};

export function allows(role: Role, access: Access): boolean {
  return GRANTS[role].includes(access);
}

/** The roles that may use a route of this access, for error messages and docs. */
export function rolesFor(access: Access): Role[] {
  return ROLES.filter((r) => allows(r, access));
}

export interface ApiKey {
  key: string;
  role: Role;
}

/** Who made a request: a key's id and role, or `local` when the API runs without keys. */
export interface Principal {
  keyId: string;
  role: Role;
}

export const LOCAL_PRINCIPAL: Principal = Object.freeze({ keyId: 'local', role: 'admin' });

/** At least 128 bits from a generator: `openssl rand -hex 32` gives 64 characters. */
export const MIN_KEY_LENGTH = 16;
const KEY_RE = /^[A-Za-z0-9._~+/=-]+$/;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The first 12 hex digits of the key's SHA-256: names the key without revealing it. */
export function keyId(key: string): string {
  return sha256(key).toString('hex').slice(0, 12);
}

/**
 * Parses `key:role,key:role` (or a list of `key:role` entries from a config file). Problems
 * name the entry by position and never quote a key.
 */
export function parseApiKeys(value: string | readonly string[]): {
  keys: ApiKey[];
  problems: string[];
} {
  const entries = (typeof value === 'string' ? value.split(',') : [...value])
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    const where = `entry ${i + 1}`;
    const colon = entry.lastIndexOf(':');
    if (colon < 0) {
      problems.push(`${where}: must be key:role`);
      continue;
    }
    const key = entry.slice(0, colon);
    const role = entry.slice(colon + 1);
    // A role as long as a key may be a key written first (role:key): never quoted.
    if (!(ROLES as readonly string[]).includes(role))
      problems.push(
        `${where}: unknown role${role.length < MIN_KEY_LENGTH ? ` ${JSON.stringify(role)}` : ''} (roles: ${ROLES.join(', ')}; write key:role)`,
      );
    else if (key.length < MIN_KEY_LENGTH || !KEY_RE.test(key))
      problems.push(
        `${where}: the key must be at least ${MIN_KEY_LENGTH} characters of [A-Za-z0-9._~+/=-] (generate one with: openssl rand -hex 32)`,
      );
    else if (seen.has(key)) problems.push(`${where}: the same key is listed twice`);
    else {
      seen.add(key);
      keys.push({ key, role: role as Role });
    }
  }
  return { keys, problems };
}

/**
 * The configured keys, by digest. A presented key is hashed and compared with every stored
 * digest in constant time, without stopping at a match: neither the time of a look-up nor its
 * result leaks how much of a key was right or where it is in the list.
 */
export class KeyRing {
  private readonly entries: Array<{ digest: Buffer; principal: Principal }>;

  constructor(keys: readonly ApiKey[]) {
    this.entries = keys.map((k) => ({
      digest: sha256(k.key),
      principal: Object.freeze({ keyId: keyId(k.key), role: k.role }),
    }));
  }

  get size(): number {
    return this.entries.length;
  }

  lookup(presented: string): Principal | undefined {
    const digest = sha256(presented);
    let found: Principal | undefined;
    for (const e of this.entries) {
      const equal = timingSafeEqual(digest, e.digest);
      if (equal && found === undefined) found = e.principal;
    }
    return found;
  }
}
