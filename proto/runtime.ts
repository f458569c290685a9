// Configures protobufjs before any generated message class is evaluated: without the `long`
// package, 64-bit fields decode to plain JS numbers. Every producer validates such values against
// Number.MAX_SAFE_INTEGER, so nothing is lost. Import this module before proto/gen/*.
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();
