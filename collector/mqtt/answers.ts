// The answer a device gets on usage/{deviceId}/rejected when some of its reports were invalid.
import type { Rejection } from '../errors.ts';

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
