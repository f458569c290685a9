// The dedupe identity of an encoded UsageRecord (device id and record key), read without decoding
// the whole message: protobufjs writes fields in number order and the identity is fields 1-4, so
// reading stops at the first field past them (meters and dims are never touched).
import protobuf from 'protobufjs/minimal.js';

const DEVICE_ID = 1;
const SEQ = 2;
const ID = 3;
const BOOT = 4;

/** `deviceId NUL recordKey`, the same key the rater deduplicates on. */
export function recordIdentity(bytes: Uint8Array): string {
  const r = protobuf.Reader.create(bytes);
  let deviceId = '';
  let seq: string | undefined;
  let id = '';
  let boot = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === DEVICE_ID) deviceId = r.string();
    else if (field === SEQ) seq = r.uint64().toString();
    else if (field === ID) id = r.string();
    else if (field === BOOT) boot = r.string();
    else if (field > BOOT) break;
    else r.skipType(tag & 7);
  }
  return seq !== undefined ? `${deviceId}\u0000s:${boot}:${seq}` : `${deviceId}\u0000i:${id}`;
}
