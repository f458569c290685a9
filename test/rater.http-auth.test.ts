// The rater's HTTP listener and API keys end to end: without keys it binds loopback only (and
// says so) unless told otherwise; with keys it binds as configured and refuses requests without
// one; the CLI sends EDGEMETER_API_KEY / --api-key (also `edgemeter audit`). Real sockets, a real child process.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { keyId } from '../rater/api/keys.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { samplePlanYaml } from './helpers/billing.ts';
import { runCli } from './helpers/cli.ts';

const KEY = 'http-admin-0123456789abcdef0123456789';
const READ_KEY = 'http-read-0123456789abcdef01234567890';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('info', 'rater', stream), text: () => lines.join('') };
}

describe('rater HTTP listener and API keys', () => {
  let store: SqlUsageStore;
  beforeAll(async () => {
    store = await openStore('embedded:memory');
    await store.migrate();
  });
  afterAll(() => store.close());

  /** A rater over the shared store, HTTP on 0.0.0.0 (a non-loopback address). */
  async function rater(flags: Record<string, unknown>) {
    const log = capture();
    const config = loadRaterConfig({
      env: {},
      flags: { grpcListen: '127.0.0.1:0', httpListen: '0.0.0.0:0', ...flags },
    });
    const r = await new Rater(config, { logger: log.logger, store }).start();
    return { r, log };
  }

  it('without keys binds 127.0.0.1 instead of the configured address, and warns', async () => {
    const { r, log } = await rater({});
    try {
      expect(r.httpHost).toBe('127.0.0.1');
      expect(log.text()).toContain(
        'no API keys configured: the HTTP API listens on 127.0.0.1 only',
      );
      const res = await fetch(`http://127.0.0.1:${r.httpPort}/v1/plans`);
      expect(res.status).toBe(200);
    } finally {
      await r.close();
    }
  });

  it('without keys and with httpAllowUnauthenticated binds as configured, warning louder', async () => {
    const { r, log } = await rater({ httpAllowUnauthenticated: 'true' });
    try {
      expect(r.httpHost).toBe('0.0.0.0');
      expect(log.text()).toContain('HTTP API WITHOUT AUTHENTICATION');
    } finally {
      await r.close();
    }
  });

  // Each CLI run starts a Node process with tsx: they run side by side, with time to spare on a
  // busy machine.
  it(
    'with keys binds as configured, refuses a request without one, and the CLI sends it',
    {
      timeout: 180_000,
    },
    async () => {
      const { r, log } = await rater({ apiKeys: `${KEY}:admin,${READ_KEY}:readonly` });
      try {
        expect(r.httpHost).toBe('0.0.0.0');
        const base = `http://127.0.0.1:${r.httpPort}`;
        expect((await fetch(`${base}/v1/plans`)).status).toBe(401);
        const plan = await fetch(`${base}/v1/plans/p-cli`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/yaml' },
          body: samplePlanYaml('p-cli'),
        });
        expect(plan.status).toBe(201);

        const cli = (args: string[], env: Record<string, string> = {}) =>
          runCli([...args, '--api-url', base], env);
        const setAccount = ['accounts', 'set', 'a1', '--plan', 'p-cli', '--currency', 'EUR'];
        const [without, withEnv, readonly, audit] = await Promise.all([
          cli(['plans', 'list']),
          cli(['plans', 'list', '--format', 'json'], { EDGEMETER_API_KEY: KEY }),
          cli([...setAccount, '--tz', 'UTC', '--api-key', READ_KEY]),
          cli(['audit', '--entity', 'plan'], { EDGEMETER_API_KEY: KEY }),
        ]);
        expect(without.code).toBe(1);
        expect(without.stderr).toContain('edgemeter: UNAUTHENTICATED:');
        expect(withEnv.code, withEnv.stderr).toBe(0);
        expect(JSON.parse(withEnv.stdout).plans).toHaveLength(1);
        expect(readonly.code).toBe(1);
        expect(readonly.stderr).toContain('edgemeter: FORBIDDEN:');
        expect(readonly.stderr).not.toContain(READ_KEY);
        // The audit log through the CLI, naming the admin key by its id.
        expect(audit.code, audit.stderr).toBe(0);
        expect(audit.stdout).toMatch(new RegExp(`${keyId(KEY)}\\s+plan\\.version\\s+plan p-cli`));

        expect(log.text()).not.toContain(KEY);
        expect(log.text()).not.toContain(READ_KEY);
      } finally {
        await r.close();
      }
    },
  );
});
