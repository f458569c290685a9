// The answer a device gets on usage/{deviceId}/rejected when some of its reports were invalid.
import type { Rejection } from '../errors.ts';
import type { IntakeResult } from './intake.ts';

export function rejectedTopic(deviceId: string): string {
  return `usage/${deviceId}/rejected`;
}

export function rejectedAnswer(
  topic: string,
  accepted: number,
  rejections: Rejection[],
  atMs: number,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      topic,
      at: new Date(atMs).toISOString(),
      accepted,
      rejected: rejections.map((r) => ({
        ...(r.index === undefined ? {} : { index: r.index }),
        code: r.code,
        reason: r.reason,
      })),
    }),
  );
}

/**
 * When a stored message had invalid reports, hands the device's answer to `publish`
 * (the embedded broker or the upstream connection in bridge mode).
 */
export function answerRejections(
  enabled: boolean,
  topic: string,
  result: IntakeResult,
  publish: (topic: string, payload: Buffer) => void,
): void {
  if (!enabled || result.kind !== 'stored' || result.rejections.length === 0 || !result.deviceId)
    return;
  publish(
    rejectedTopic(result.deviceId),
    rejectedAnswer(topic, result.accepted, result.rejections, Date.now()),
  );
}
