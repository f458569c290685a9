// Config schemas: precedence, every problem reported at once, and docs in step with the schema.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference } from '../cli/config-docs.ts';
import { ConfigError, envName, flagName } from '../common/config.ts';
import { loadCollectorConfig } from '../collector/config.ts';
import { loadRaterConfig, raterOptions } from '../rater/config.ts';

describe('config', () => {
  it('derives the documented environment variable names', () => {
    expect(envName('db')).toBe('EDGEMETER_DB');
    expect(envName('grpcListen')).toBe('EDGEMETER_GRPC_LISTEN');
    expect(envName('bufferMaxBytes')).toBe('EDGEMETER_BUFFER_MAX_BYTES');
    expect(envName('mqttUpstream')).toBe('EDGEMETER_MQTT_UPSTREAM');
    expect(flagName('bufferMaxBytes')).toBe('--buffer-max-bytes');
  });

  it('has the defaults PRODUCT.md promises', () => {
    const r = loadRaterConfig({ env: {} });
    expect([r.db, r.grpcListen, r.httpListen]).toEqual([
      'embedded:./data/rater',
      '0.0.0.0:50051',
      '0.0.0.0:8080',
    ]);
    const c = loadCollectorConfig({ env: {} });
    expect([c.mqttListen, c.rater, c.httpListen, c.mqttUpstream]).toEqual([
      '0.0.0.0:1883',
      '127.0.0.1:50051',
      '0.0.0.0:9464',
      undefined,
    ]);
  });

  it('applies default < file < env < flag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgemeter-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'collectorId: from-file\nbufferMaxBytes: 64MiB\nrater: 10.0.0.1:50051\n');
    const c = loadCollectorConfig({
      file,
      env: { EDGEMETER_RATER: '127.0.0.2:1' },
      flags: { collectorId: 'from-flag' },
    });
    expect(c.collectorId).toBe('from-flag');
    expect(c.rater).toBe('127.0.0.2:1');
    expect(c.bufferMaxBytes).toBe(64 * 1024 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every problem together, naming where each came from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgemeter-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'batchMaxRecords: lots\nbogus: 1\n');
    let err: unknown;
    try {
      loadCollectorConfig({
        file,
        env: { EDGEMETER_BUFFER_MAX_BYTES: '12 apples', EDGEMETER_RATER: 'nowhere' },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect((err as ConfigError).problems).toHaveLength(4);
    expect(problems).toContain('unknown key "bogus"');
    expect(problems).toContain('EDGEMETER_BUFFER_MAX_BYTES');
    expect(problems).toContain('EDGEMETER_RATER: must be host:port');
    expect(problems).toContain(': batchMaxRecords');
  });

  it('accepts the example configs in deploy/', () => {
    expect(
      loadCollectorConfig({ file: 'deploy/collector.example.yaml', env: {} }).bufferMaxBytes,
    ).toBe(2 * 1024 ** 3);
    expect(loadRaterConfig({ file: 'deploy/rater.example.yaml', env: {} }).db).toMatch(
      /^postgres:/,
    );
  });

  it('rejects an unknown database scheme', () => {
    expect(() => loadRaterConfig({ env: { EDGEMETER_DB: 'mysql://x' } })).toThrow(
      /EDGEMETER_DB: must be postgres/,
    );
  });

  it('docs/configuration.md is generated from the schemas (run: node bin/edgemeter.js config > docs/configuration.md)', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(configReference());
    for (const key of Object.keys(raterOptions)) expect(configReference()).toContain(envName(key));
  });
});
