// chaos/mqtt-frames.ts against mqtt-packet, the codec aedes and MQTT.js use: what one writes the
// other reads, whatever the sizes and however a socket cuts the stream.
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { FrameReader, PUBACK, publishFrame } from '../chaos/mqtt-frames.ts';

describe('chaos/mqtt-frames', () => {
  it('PUBLISH frames decode with mqtt-packet to the same topic, payload, id and QoS 1', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
        fc.oneof(fc.string({ maxLength: 200, unit: 'grapheme' }), fc.constant('z'.repeat(17_000))),
        fc.integer({ min: 1, max: 65_535 }),
        (topic, payload, messageId) => {
          const parser = mqttPacket.parser({ protocolVersion: 4 });
          const got: mqttPacket.Packet[] = [];
          parser.on('packet', (p) => got.push(p));
          parser.parse(publishFrame(topic, payload, messageId));
          expect(got).toHaveLength(1);
          const p = got[0] as mqttPacket.IPublishPacket;
          expect([p.cmd, p.topic, p.payload.toString(), p.messageId, p.qos]).toEqual([
            'publish',
            topic,
            payload,
            messageId,
            1,
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads every packet of a stream once, in order, however it is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 65_535 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        (ids, cuts) => {
          const stream = Buffer.concat([
            ...ids.map((id) => mqttPacket.generate({ cmd: 'puback', messageId: id })),
            mqttPacket.generate({ cmd: 'pingresp' }),
            // A packet with a two-byte remaining length, not for a publisher: read and skipped.
            mqttPacket.generate({
              cmd: 'publish',
              topic: 't',
              payload: 'p'.repeat(200),
              qos: 0,
              dup: false,
              retain: false,
            }),
          ]);
          const seen: Array<[number, number]> = [];
          const reader = new FrameReader((type, body) =>
            seen.push([type, type === PUBACK ? body.readUInt16BE(0) : body.length]),
          );
          for (let at = 0, k = 0; at < stream.length; k++) {
            const size = cuts[k % cuts.length] as number;
            reader.push(stream.subarray(at, at + size));
            at += size;
          }
          expect(seen).toEqual([...ids.map((id) => [PUBACK, id]), [13, 0], [3, 203]]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a remaining length of more than four bytes', () => {
    const reader = new FrameReader(() => {});
    expect(() => reader.push(Buffer.from([0x40, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(
      /remaining length/,
    );
  });
});
