// The real PostgreSQL and Mosquitto servers that this project's machines run. On a machine
// without them the suites that need them are skipped (and say so); with
// EDGEMETER_REQUIRE_SERVICES=1 (set by .ci/run) an unreachable server fails the run instead.
import net from 'node:net';
import pg from 'pg';

export const PG_URL =
  process.env.EDGEMETER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MQTT_URL = process.env.EDGEMETER_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const required = process.env.EDGEMETER_REQUIRE_SERVICES === '1';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

async function check(name: string, url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  const ok = await reachable(u.hostname, Number(u.port || defaultPort));
  if (!ok) {
    if (required)
      throw new Error(
        `${name} at ${url} is required (EDGEMETER_REQUIRE_SERVICES=1) but unreachable`,
      );
    console.warn(
      `[edgemeter tests] ${name} not reachable at ${url}: skipping the suites that need it`,
    );
  }
  return ok;
}

export const hasPostgres = await check('PostgreSQL', PG_URL, 5432);
export const hasMosquitto = await check('Mosquitto', MQTT_URL, 1883);

/**
 * Creates a fresh, empty database on the PostgreSQL server for one test file and returns its
 * URL and a function that drops it again.
 */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `edgemeter_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
