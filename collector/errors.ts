// The collector's one table of error codes and what each means for the publishing device.
//   dead-letter: the report is acknowledged (PUBACK) so the device does not retry it forever,
//                kept in the dead-letter store with its reason, counted, and answered on
//                usage/{deviceId}/rejected.
//   refuse:      no PUBACK; the connection is closed so the device keeps the report and
//                retransmits it later (MQTT 3.1.1 has no negative PUBACK).
export type MqttAnswer = 'dead-letter' | 'refuse';

export const COLLECTOR_ERRORS = {
  INVALID_TOPIC: {
    answer: 'dead-letter',
    doc: 'Topic is under usage/ but is not usage/{deviceId} or usage/{deviceId}/pb with a valid device id.',
  },
  INVALID_UTF8: { answer: 'dead-letter', doc: 'JSON payload is not valid UTF-8.' },
  INVALID_JSON: { answer: 'dead-letter', doc: 'Payload is not JSON.' },
  INVALID_PROTOBUF: {
    answer: 'dead-letter',
    doc: 'Payload on usage/{deviceId}/pb is not a DeviceReport message.',
  },
  INVALID_RECORD: {
    answer: 'dead-letter',
    doc: 'A report is missing a field or has a wrong type or value; the reason names the field.',
  },
  CLOCK_SKEW: {
    answer: 'dead-letter',
    doc: 'The report’s ts is more than maxFutureSkewMs ahead of the collector’s clock.',
  },
  EMPTY_PAYLOAD: { answer: 'dead-letter', doc: 'Payload is empty or an empty array.' },
  PAYLOAD_TOO_LARGE: { answer: 'dead-letter', doc: 'Payload exceeds maxPayloadBytes.' },
  TOO_MANY_RECORDS: {
    answer: 'dead-letter',
    doc: 'JSON array holds more than maxRecordsPerPayload reports.',
  },
  RATER_REJECTED: {
    answer: 'dead-letter',
    doc: 'The rater refused a forwarded record as invalid; kept with the rater’s reason.',
  },
  CORRUPT_OUTBOX_ENTRY: {
    answer: 'dead-letter',
    doc: 'An outbox entry failed its checksum on disk; quarantined, the rest delivered.',
  },
  NOT_AUTHORIZED: {
    answer: 'refuse',
    doc: 'The client may not publish to this topic: usage/{id}/rejected is the collector’s, and with authentication on a device publishes only to its own usage/{id} and usage/{id}/pb.',
  },
  BUFFER_FULL: {
    answer: 'refuse',
    doc: 'The outbox reached bufferMaxBytes; the device keeps the report and retries later.',
  },
  STORE_FAILED: {
    answer: 'refuse',
    doc: 'The durable write failed (disk error); the device keeps the report and retries later.',
  },
} as const satisfies Record<string, { answer: MqttAnswer; doc: string }>;

export type CollectorErrorCode = keyof typeof COLLECTOR_ERRORS;

/** Why one report (or one element of an array payload) was not accepted. */
export interface Rejection {
  code: CollectorErrorCode;
  reason: string;
  /** Position in a JSON array payload. */
  index?: number;
}

export class CollectorError extends Error {
  constructor(
    readonly code: CollectorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CollectorError';
  }
}

export function mqttAnswer(code: string): MqttAnswer {
  return (COLLECTOR_ERRORS as Record<string, { answer: MqttAnswer }>)[code]?.answer ?? 'refuse';
}
