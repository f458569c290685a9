// Group commit: while one synced write is in flight, new jobs queue up; when it finishes, all of
// them go into the next single write. Under load that turns N fsyncs into a handful, and a lone
// job is written at once (no timer, so an idle collector adds no latency).

interface Waiting<J> {
  job: J;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<J> {
  private queue: Array<Waiting<J>> = [];
  private running: Promise<void> | undefined;

  /**
   * `writeGroup` writes all the jobs it is given in one atomic write. It runs for one group at a
   * time. If it throws, every job of that group is rejected with its error (nothing of the group
   * was written). Otherwise every job is resolved, except those it refused: it may return one
   * entry per job, an error for a job it left out of the write (e.g. no room for it).
   */
  constructor(
    private readonly writeGroup: (jobs: J[]) => Promise<void | ReadonlyArray<Error | undefined>>,
  ) {}

  submit(job: J): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves once everything submitted so far has been written or has failed. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        const refused = await this.writeGroup(group.map((w) => w.job));
        group.forEach((w, i) => {
          const err = refused?.[i];
          if (err === undefined) w.resolve();
          else w.reject(err);
        });
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    this.running = undefined;
  }
}
