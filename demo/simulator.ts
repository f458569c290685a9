// Simulated devices for the demo (and tests): real MQTT clients publishing QoS 1 usage reports
// on a compressed clock (each tick is one 5-minute reporting interval of device time). The
// simulator keeps the ground truth: what each device sent and got acknowledged.
import mqtt, { type MqttClient } from 'mqtt';
import { DeviceReport } from '../proto/index.ts';

export type Profile = 'steady' | 'bursty' | 'quiet' | 'sensor';

export interface SimDevice {
  id: string;
  profile: Profile;
  zone: string;
  /** Publish the protobuf form on usage/{id}/pb instead of JSON. */
  protobuf: boolean;
}

export interface DeviceTruth {
  acked: number;
  up: number;
  down: number;
  sms: number;
  invalidSent: number;
  resent: number;
}

const INTERVAL_MS = 300_000;

/** A deterministic pseudo-random generator, so a demo run is reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fleet(count: number): SimDevice[] {
  const profiles: Profile[] = ['steady', 'steady', 'bursty', 'sensor'];
  // Mostly home-zone (EU) traffic, some roaming: cameras abroad, now and then a device in APAC.
  const zones = ['eu', 'eu', 'us', 'eu', 'eu', 'apac'];
  const devices: SimDevice[] = [];
  for (let i = 0; i < count; i++) {
    const profile = i === count - 1 ? 'quiet' : (profiles[i % profiles.length] as Profile);
    const kind = profile === 'sensor' ? 'meter' : profile === 'bursty' ? 'cam' : 'router';
    devices.push({
      id: `${kind}-${String(i + 1).padStart(2, '0')}`,
      profile,
      zone: zones[i % zones.length] as string,
      protobuf: i % 6 === 5,
    });
  }
  return devices;
}

export class Simulator {
  readonly truth = new Map<string, DeviceTruth>();
  private readonly clients = new Map<string, MqttClient>();
  private readonly seqs = new Map<string, number>();
  private readonly lastReports = new Map<string, string[]>();
  private readonly rand: () => number;
  private tickNo = 0;

  constructor(
    private readonly brokerUrl: string,
    readonly devices: SimDevice[],
    private readonly startMs: number,
    seed = 42,
  ) {
    this.rand = mulberry32(seed);
    for (const d of devices)
      this.truth.set(d.id, { acked: 0, up: 0, down: 0, sms: 0, invalidSent: 0, resent: 0 });
  }

  async connect(): Promise<void> {
    await Promise.all(
      this.devices.map(async (d) => {
        const c = await mqtt.connectAsync(this.brokerUrl, {
          clientId: `sim-${d.id}`,
          clean: true,
          reconnectPeriod: 0,
        });
        this.clients.set(d.id, c);
      }),
    );
  }

  /** Device time at the end of the current tick. */
  get deviceNowMs(): number {
    return this.startMs + this.tickNo * INTERVAL_MS;
  }

  /** One reporting interval: every active device publishes one report and waits for its PUBACK. */
  async tick(): Promise<void> {
    this.tickNo++;
    const end = this.startMs + this.tickNo * INTERVAL_MS;
    await Promise.all(this.devices.map((d) => this.report(d, end)));
  }

  private volume(d: SimDevice): { up: number; down: number; sms: number } {
    const r = this.rand;
    switch (d.profile) {
      case 'steady':
        return { up: Math.round(2e6 + r() * 1e6), down: Math.round(12e6 + r() * 6e6), sms: 0 };
      case 'bursty':
        // Mostly idle, with a large upload every few intervals.
        return r() < 0.2
          ? { up: Math.round(150e6 + r() * 100e6), down: Math.round(3e6 * r()), sms: 0 }
          : { up: Math.round(2e5 * r()), down: Math.round(1e5 * r()), sms: 0 };
      case 'quiet':
        return { up: Math.round(4e6 + r() * 2e6), down: Math.round(8e6 + r() * 2e6), sms: 0 };
      case 'sensor':
        return {
          up: Math.round(20e3 + r() * 10e3),
          down: Math.round(2e3 * r()),
          sms: r() < 0.1 ? 1 : 0,
        };
    }
  }

  private async report(d: SimDevice, endMs: number): Promise<void> {
    // The quiet device stops reporting a third of the way in.
    if (d.profile === 'quiet' && this.tickNo > 12) return;
    const client = this.clients.get(d.id);
    const truth = this.truth.get(d.id);
    if (!client || !truth) return;
    const seq = (this.seqs.get(d.id) ?? 0) + 1;
    this.seqs.set(d.id, seq);
    const v = this.volume(d);
    const report = {
      seq,
      boot: 1,
      ts: new Date(endMs).toISOString(),
      start: new Date(endMs - INTERVAL_MS).toISOString(),
      up: v.up,
      down: v.down,
      dims: { zone: d.zone },
      ...(v.sms ? { meters: { sms: v.sms } } : {}),
    };
    if (d.protobuf) {
      const bytes = DeviceReport.encode({
        seq,
        boot: '1',
        tsMs: endMs,
        startMs: endMs - INTERVAL_MS,
        up: v.up,
        down: v.down,
        dims: { zone: d.zone },
        meters: v.sms ? { sms: v.sms } : {},
      }).finish();
      await client.publishAsync(`usage/${d.id}/pb`, Buffer.from(bytes), { qos: 1 });
    } else {
      const payload = JSON.stringify(report);
      await client.publishAsync(`usage/${d.id}`, payload, { qos: 1 });
      const kept = this.lastReports.get(d.id) ?? [];
      kept.push(payload);
      this.lastReports.set(d.id, kept.slice(-5));
    }
    truth.acked++;
    truth.up += v.up;
    truth.down += v.down;
    truth.sms += v.sms;
  }

  /** A device retransmits the last `n` reports it already had acknowledged (as after a reconnect). */
  async resendLast(deviceId: string, n: number): Promise<void> {
    const d = this.devices.find((x) => x.id === deviceId);
    const client = this.clients.get(deviceId);
    const truth = this.truth.get(deviceId);
    if (!d || !client || !truth || d.protobuf) return;
    // Byte-identical payloads: the same dedupe key with the same content is a duplicate.
    const last = this.lastReports.get(deviceId) ?? [];
    for (const payload of last.slice(-n)) {
      await client.publishAsync(`usage/${deviceId}`, payload, { qos: 1 });
      truth.resent++;
    }
  }

  /** Publishes one invalid report (negative bytes) to show dead-lettering. */
  async sendInvalid(deviceId: string): Promise<string> {
    const client = this.clients.get(deviceId);
    const truth = this.truth.get(deviceId);
    if (!client || !truth) return '';
    const answer = new Promise<string>((resolve) => {
      const topic = `usage/${deviceId}/rejected`;
      client.on('message', (t, msg) => {
        if (t === topic) resolve(msg.toString());
      });
      void client.subscribeAsync(topic, { qos: 1 }).then(() =>
        client.publishAsync(
          `usage/${deviceId}`,
          JSON.stringify({
            seq: 999999,
            ts: new Date(this.deviceNowMs).toISOString(),
            up: -5,
            down: 10,
          }),
          { qos: 1 },
        ),
      );
    });
    truth.invalidSent++;
    return Promise.race([
      answer,
      new Promise<string>((r) => setTimeout(() => r('(no answer)'), 3000).unref()),
    ]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.endAsync()));
  }
}
