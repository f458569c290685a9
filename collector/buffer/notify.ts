// Tells a waiting forwarder that new entries were committed, so it need not poll.
import type { AppendInfo, AppendListener, BufferLogger } from './types.ts';

export class AppendSignal {
  private readonly listeners = new Set<AppendListener>();

  constructor(private readonly logger: BufferLogger) {}

  /** Returns the unsubscribe function. */
  on(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A throwing listener is logged; it must not fail the append that already became durable. */
  emit(info: AppendInfo): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(info);
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'append listener threw');
      }
    }
  }

  /** Resolves at once if `ready()`, else on the next emit or when `signal` aborts. */
  wait(ready: () => boolean, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const off = this.on(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
