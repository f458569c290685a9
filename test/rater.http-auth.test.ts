// The rater's HTTP listener and API keys end to end: without keys it binds loopback only (and
// says so) unless told otherwise; with keys it binds as configured and refuses requests without
// one; the CLI sends EDGEMETER_API_KEY / --api-key (also `edgemeter audit`). Real sockets, a real child process.
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { keyId } from '../rater/api/keys.ts';
import { loadRaterConfig } from '../rater/config.ts';
import { Rater } from '../rater/rater.ts';
import { openStore } from '../rater/storage/open.ts';
import type { SqlUsageStore } from '../rater/storage/usage-store.ts';
import { samplePlanYaml } from './helpers/billing.ts';

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

  it('with keys binds as configured, refuses a request without one, and the CLI sends it', async () => {
    const { r, log } = await rater({ apiKeys: `${KEY}:admin,${READ_KEY}:readonly` });
    try {
      expect(r.httpHost).toBe('0.0.0.0');
      const base = `http://127.0.0.1:${r.httpPort}`;
      expect((await fetch(`${base}/v1/plans`)).status).toBe(401);
      const cli = (args: string[], env: Record<string, string>) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
          execFile(
            process.execPath,
            ['bin/edgemeter.js', ...args, '--api-url', base],
            { env: { ...process.env, EDGEMETER_CONFIG: '', EDGEMETER_API_KEY: '', ...env } },
            (err, stdout, stderr) =>
              resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
          ),
        );
      const without = await cli(['plans', 'list'], {});
      expect(without.code).toBe(1);
      expect(without.stderr).toContain('edgemeter: UNAUTHENTICATED:');
      const withEnv = await cli(['plans', 'list', '--format', 'json'], { EDGEMETER_API_KEY: KEY });
      expect(withEnv.code, withEnv.stderr).toBe(0);
      expect(JSON.parse(withEnv.stdout)).toHaveProperty('plans');
      const readonly = await cli(
        [
          'accounts',
          'set',
          'a1',
          '--plan',
          'p',
          '--currency',
          'EUR',
          '--tz',
          'UTC',
          '--api-key',
          READ_KEY,
        ],
        {},
      );
      expect(readonly.code).toBe(1);
      expect(readonly.stderr).toContain('edgemeter: FORBIDDEN:');
      expect(readonly.stderr).not.toContain(READ_KEY);
      // The audit log through the CLI: admin keys only.
      const plan = await fetch(`${base}/v1/plans/p-cli`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/yaml' },
        body: samplePlanYaml('p-cli'),
      });
      expect(plan.status).toBe(201);
      const audit = await cli(['audit', '--entity', 'plan'], { EDGEMETER_API_KEY: KEY });
      expect(audit.code, audit.stderr).toBe(0);
      expect(audit.stdout).toMatch(new RegExp(`${keyId(KEY)}\\s+plan\\.version\\s+plan p-cli`));
      const denied = await cli(['audit'], { EDGEMETER_API_KEY: READ_KEY });
      expect(denied.stderr).toContain('edgemeter: FORBIDDEN:');
      const bad = await cli(['audit', '--entity', 'user'], { EDGEMETER_API_KEY: KEY });
      expect(bad.stderr).toContain('edgemeter: BAD_REQUEST: entity must be');

      expect(log.text()).not.toContain(KEY);
      expect(log.text()).not.toContain(READ_KEY);
    } finally {
      await r.close();
    }
  });
});
