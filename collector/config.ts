// The collector's options: the single source for validation, defaults, EDGEMETER_* variables,
// flags and docs (see common/config.ts).
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  boolean,
  hostPort,
  integer,
  loadConfig,
  logLevel,
  option,
  optionalHostPort,
  hostPortOrOff,
  type ConfigOf,
  type LoadInput,
} from '../common/config.ts';
import { DEVICE_ID_RE } from '../common/usage.ts';
import { parseRaterTarget } from './forward/target.ts';
import { DEFAULT_CLOCK_SKEW } from './mqtt/clock-skew.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const collectorOptions = {
  collectorId: option(
    z
      .string()
      .regex(DEVICE_ID_RE, 'must be 1-128 characters of [A-Za-z0-9._:-]')
      .default(
        hostname()
          .replace(/[^A-Za-z0-9._:-]/g, '-')
          .slice(0, 128) || 'collector',
      ),
    {
      doc: 'Identity of this collector, sent with every batch. Default: the host name.',
      arg: '<id>',
    },
  ),
  mqttListen: option(hostPortOrOff('0.0.0.0:1883'), {
    doc: 'Address of the embedded MQTT broker devices publish to (plain TCP), or off to serve MQTT over TLS only (mqttTlsListen). Ignored in bridge mode.',
    arg: '<host:port|off>',
  }),
  mqttTlsListen: option(optionalHostPort(), {
    doc: 'Address of the embedded broker’s MQTT-over-TLS listener, e.g. 0.0.0.0:8883. Needs mqttTlsCert and mqttTlsKey.',
    arg: '<host:port>',
  }),
  mqttTlsCert: option(z.string().min(1).optional(), {
    doc: 'PEM certificate (chain) of the MQTT TLS listener.',
    arg: '<file>',
  }),
  mqttTlsKey: option(z.string().min(1).optional(), {
    doc: 'PEM private key of the MQTT TLS listener.',
    arg: '<file>',
  }),
  mqttTlsCa: option(z.string().min(1).optional(), {
    doc: 'PEM CA certificate(s) for device client certificates on the TLS listener: a device whose certificate chains to it is authenticated as the certificate’s CN (its device id); an untrusted certificate is refused. Devices without a certificate may still use deviceCredentials.',
    arg: '<file>',
  }),
  deviceCredentials: option(z.string().min(1).optional(), {
    doc: 'File of device credentials (deviceId:scrypt-hash lines, managed with `edgemeter credentials`). When set, or when mqttTlsCa is, devices must authenticate (MQTT user name = device id, password = its secret) and may publish only to their own usage/{id} topics. Reread when it changes. Unset: devices are not authenticated (lab use; logged as a warning at start-up). Ignored in bridge mode: there the upstream broker authenticates (docs/security.md).',
    arg: '<file>',
  }),
  mqttUpstream: option(z.string().url('must be a URL such as mqtt://127.0.0.1:1883').optional(), {
    doc: 'Bridge mode: subscribe to this existing broker (mqtt://host:port) instead of running an embedded one.',
    arg: '<url>',
  }),
  mqttUpstreamClientId: option(z.string().min(1).max(128).optional(), {
    doc: 'Client id of the persistent bridge session. Default: edgemeter-<collectorId>. Keep it stable: the upstream broker queues messages for it while the collector is down.',
    arg: '<id>',
  }),
  mqttUpstreamUsername: option(z.string().optional(), {
    doc: 'Username for the upstream broker.',
    arg: '<name>',
  }),
  mqttUpstreamPassword: option(z.string().optional(), {
    doc: 'Password for the upstream broker.',
    arg: '<secret>',
    secret: true,
  }),
  rater: option(
    z
      .string()
      .default('127.0.0.1:50051')
      .superRefine((v, ctx) => {
        try {
          parseRaterTarget(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
    {
      doc: 'gRPC address of the rater: host:port; or several raters, with batches spread over them round-robin (a rater that is down is skipped): a comma-separated list of IP address:port, or dns:name:port for every address a DNS name resolves to (e.g. a Kubernetes headless Service). See docs/scaling.md.',
      arg: '<address>',
    },
  ),
  raterTlsCa: option(z.string().min(1).optional(), {
    doc: 'PEM CA certificate(s) that signed the rater’s certificate. Set: batches go over TLS and the rater’s certificate is verified. Unset: plaintext gRPC (loopback or a trusted network only).',
    arg: '<file>',
  }),
  raterTlsCert: option(z.string().min(1).optional(), {
    doc: 'PEM client certificate of this collector for mutual TLS; its CN must equal collectorId (the rater checks). Needs raterTlsKey and raterTlsCa.',
    arg: '<file>',
  }),
  raterTlsKey: option(z.string().min(1).optional(), {
    doc: 'PEM private key of raterTlsCert.',
    arg: '<file>',
  }),
  raterTlsServerName: option(z.string().min(1).optional(), {
    doc: 'Name to verify in the rater’s certificate, when it differs from the host in rater (e.g. connecting by IP address).',
    arg: '<name>',
  }),
  bufferDir: option(z.string().min(1).default('./data/collector'), {
    doc: 'Directory of the LevelDB outbox and dead-letter store. One collector per directory: while one has it open, another refuses to start (LevelDB’s lock).',
    arg: '<dir>',
  }),
  bufferMaxBytes: option(integer(GiB, MiB, Number.MAX_SAFE_INTEGER, true), {
    doc: 'Cap on buffered record bytes. What happens at the cap is bufferFullPolicy (default: new publishes are refused, no PUBACK, so devices keep them). Accepts units: 512MiB, 2GiB.',
    arg: '<bytes>',
  }),
  bufferFullPolicy: option(z.enum(['refuse', 'drop-oldest']).default('refuse'), {
    doc: 'What the collector does at bufferMaxBytes: refuse (new publishes get no PUBACK, so devices keep them and retry) or drop-oldest (the oldest records not yet handed to the rater are deleted in the same synced write as the new ones, counted in edgemeter_collector_records_dropped_total{reason="buffer_full"} and logged; records in flight to the rater are never dropped).',
    arg: '<policy>',
  }),
  bufferMinFreeBytes: option(integer(64 * MiB, 0, Number.MAX_SAFE_INTEGER, true), {
    doc: 'Free space always kept on the file system of bufferDir, whatever bufferMaxBytes allows: publishes that would leave less are refused (no PUBACK) under either policy, so that a full disk still leaves the outbox room to drain, compact and reopen. 0 disables the check. Accepts units.',
    arg: '<bytes>',
  }),
  httpListen: option(hostPort('0.0.0.0:9464'), {
    doc: 'Address of the collector HTTP endpoints: /healthz, /readyz, /metrics, /v1/dead-letters, /v1/quarantine and /v1/quota.',
    arg: '<host:port>',
  }),
  maxPayloadBytes: option(integer(256 * KiB, 64, 16 * MiB, true), {
    doc: 'Largest MQTT payload accepted; larger ones are dead-lettered as PAYLOAD_TOO_LARGE.',
    arg: '<bytes>',
  }),
  maxRecordsPerPayload: option(integer(1000, 1, 100_000), {
    doc: 'Most records in one JSON array payload; longer arrays are dead-lettered as TOO_MANY_RECORDS.',
    arg: '<n>',
  }),
  clockSkewToleranceMs: option(integer(DEFAULT_CLOCK_SKEW.toleranceMs, 0, 30 * 86_400_000), {
    doc: 'Largest difference between a report’s ts (device clock, the billing time) and the collector’s receive time that counts as normal, in ms. Reports beyond it are accepted and counted as clock-skewed (edgemeter_collector_records_clock_skewed_total); the rater stores every record’s skew.',
    arg: '<ms>',
  }),
  maxFutureSkewMs: option(integer(DEFAULT_CLOCK_SKEW.maxFutureMs, 60_000, 36_525 * 86_400_000), {
    doc: 'Reports whose ts is more than this far ahead of the collector’s clock are rejected as CLOCK_SKEW, in ms (reports from the past are accepted as late data).',
    arg: '<ms>',
  }),
  batchMaxRecords: option(integer(2000, 1, 50_000), {
    doc: 'Most records in one forwarded gRPC batch. Larger batches spread the fixed costs of each round trip and store transaction, but cost the rater more per record (bench/README.md: 5,000 drained a 1 M backlog 5–8 % faster and stored 10–20 % fewer rows/s). Keep it at or below the rater’s maxBatchRecords.',
    arg: '<n>',
  }),
  batchMaxBytes: option(integer(MiB, 16 * KiB, 3 * MiB, true), {
    doc: 'Most encoded bytes in one forwarded gRPC batch (unary batches stay small so grpc-js can buffer and retry them).',
    arg: '<bytes>',
  }),
  batchLingerMs: option(integer(200, 0, 60_000), {
    doc: 'How long the forwarder waits for a batch to fill before sending a partial one, in ms. Fewer, larger batches cost the collector, the rater and the database less CPU per record (bench/README.md: 200 against 50 raised end-to-end events/s by 9–13 % on 2 shared cores), for at most this much more delivery latency; 0 sends whatever is waiting at once.',
    arg: '<ms>',
  }),
  gcWhenIdleMs: option(integer(5_000, 0, 3_600_000), {
    doc: 'After a burst of publishes or forwarding, run a full, compacting garbage collection once the collector has been quiet this long, in ms, and another one after as long again, so it gives the memory back (V8 does not collect while idle); 0 turns it off.',
    arg: '<ms>',
  }),
  forwardMaxInFlight: option(integer(4, 1, 64), {
    doc: 'Most batches sent to the rater and not yet answered at once (the rater dedupes, so order does not matter; entries leave the outbox only when their own batch is acknowledged).',
    arg: '<n>',
  }),
  forwardDeadlineMs: option(integer(15_000, 100, 600_000), {
    doc: 'Deadline of one batch request to the rater, in ms.',
    arg: '<ms>',
  }),
  retryInitialMs: option(integer(200, 1, 60_000), {
    doc: 'First retry delay after a failed batch, in ms (doubles each time, with jitter).',
    arg: '<ms>',
  }),
  retryMaxMs: option(integer(30_000, 1, 3_600_000), {
    doc: 'Longest retry delay, in ms. Retries go on for as long as it takes.',
    arg: '<ms>',
  }),
  quotaWatch: option(boolean(true), {
    doc: 'Follow the rater’s quota decisions (QuotaService.Watch, same address and TLS as forwarding) and enforce them: retained quota/{deviceId} states, quota/{deviceId}/notice crossings, GET /v1/quota lookups, and offline enforcement from the last decision plus usage accepted since (docs/quotas.md). State is kept in <bufferDir>/quota.',
    arg: '<bool>',
  }),
  answerRejected: option(boolean(true), {
    doc: 'Publish the reason for each rejected report on usage/{deviceId}/rejected.',
    arg: '<bool>',
  }),
  logLevel: option(logLevel(), {
    doc: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    arg: '<level>',
  }),
};

export type CollectorConfig = ConfigOf<typeof collectorOptions>;

export function loadCollectorConfig(input?: LoadInput): CollectorConfig {
  return loadConfig(collectorOptions, input);
}
