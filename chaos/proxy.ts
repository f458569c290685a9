// A TCP proxy on loopback whose behaviour changes while traffic flows through it: the "network"
// between a collector and its rater, or between a rater and PostgreSQL. Each fault is one method,
// so a scenario reads as a script of what went wrong:
//   pass          forward bytes as they come;
//   delay(ms)     hold every chunk for `ms`, in both directions (order kept);
//   dropNew(on)   accept new connections and close them at once (a server that is "restarting");
//   cutAll()      destroy every open connection (a network blip, a server crash);
//   refuse()      close the listener, so connects get ECONNREFUSED (the server is gone);
//   reopen()      listen again on the same port.
import net from 'node:net';

export interface ProxyStats {
  accepted: number;
  dropped: number;
  cut: number;
}

/** One direction of one connection: chunks wait in order until their release time. */
class Pipe {
  private readonly queue: Array<{ at: number; chunk: Buffer }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** Runs once the queue is empty (the sender ended: end the receiver after the last chunk). */
  private flushed: (() => void) | undefined;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly delayMs: () => number,
  ) {
    from.on('data', (chunk) => this.push(chunk));
    from.on('end', () => this.whenEmpty(() => to.end()));
    to.on('drain', () => from.resume());
  }

  private push(chunk: Buffer): void {
    const last = this.queue[this.queue.length - 1]?.at ?? 0;
    // Never release before an earlier chunk: a shorter delay set mid-stream must not reorder.
    this.queue.push({ at: Math.max(Date.now() + this.delayMs(), last), chunk });
    this.pump();
  }

  private pump(): void {
    if (this.timer) return;
    while (this.queue.length > 0) {
      const head = this.queue[0] as { at: number; chunk: Buffer };
      const wait = head.at - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      if (this.to.destroyed) return;
      // Backpressure: stop reading from the sender until the receiver drained.
      if (!this.to.write(head.chunk)) this.from.pause();
    }
    this.flushed?.();
  }

  private whenEmpty(fn: () => void): void {
    if (this.queue.length === 0 && !this.timer) return fn();
    this.flushed = fn;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

export class ChaosProxy {
  readonly stats: ProxyStats = { accepted: 0, dropped: 0, cut: 0 };
  private server: net.Server | undefined;
  private readonly open = new Set<{ client: net.Socket; upstream: net.Socket; pipes: Pipe[] }>();
  private delayMs = 0;
  private dropping = false;
  private listenPort: number;

  constructor(
    private readonly target: { host: string; port: number },
    listenPort = 0,
  ) {
    this.listenPort = listenPort;
  }

  /** The port the proxy listens on (stable across refuse/reopen). */
  get port(): number {
    return this.listenPort;
  }

  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (server.address() as net.AddressInfo).port;
    return this.listenPort;
  }

  private accept(client: net.Socket): void {
    if (this.dropping) {
      this.stats.dropped++;
      client.destroy();
      return;
    }
    this.stats.accepted++;
    client.setNoDelay(true);
    const upstream = net.connect({ ...this.target, noDelay: true });
    const conn = { client, upstream, pipes: [] as Pipe[] };
    conn.pipes.push(new Pipe(client, upstream, () => this.delayMs));
    conn.pipes.push(new Pipe(upstream, client, () => this.delayMs));
    this.open.add(conn);
    const close = () => {
      if (!this.open.delete(conn)) return;
      for (const p of conn.pipes) p.stop();
      client.destroy();
      upstream.destroy();
    };
    // Either side failing or closing ends both: the proxy is as reliable as a wire, no more.
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  pass(): void {
    this.delayMs = 0;
    this.dropping = false;
  }

  delay(ms: number): void {
    this.delayMs = ms;
  }

  dropNew(on = true): void {
    this.dropping = on;
  }

  /** Destroys every open connection (an RST to both sides). */
  cutAll(): void {
    for (const conn of [...this.open]) {
      this.stats.cut++;
      conn.client.resetAndDestroy();
      conn.upstream.resetAndDestroy();
    }
  }

  /** Closes the listener and cuts what is open: connects now fail with ECONNREFUSED. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cutAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async reopen(): Promise<void> {
    if (!this.server) await this.start();
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}
