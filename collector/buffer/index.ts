// The collector's durable buffer: LevelDB outbox with group commit, and dead letters.
export { Outbox } from './outbox.ts';
export { BufferError, isBufferError, type BufferErrorCode } from './errors.ts';
export {
  DEAD_LETTER_PAYLOAD_MAX,
  DeadLetterStore,
  type DeadLetter,
  type DeadLetterInput,
  type DeadLetterStats,
} from './dead-letters.ts';
export type * from './types.ts';
