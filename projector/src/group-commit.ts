interface Waiting<I, O> {
  item: I
  resolve: (out: O) => void
  reject: (err: unknown) => void
}

/**
 * Group commit: what callers submit in the same turn of the event loop, or while a run is in
 * flight, goes to ONE run of `run`; one run at a time, and what arrives meanwhile is the next
 * run's. For work whose cost is mostly per run (a statement: its round trip, plan, commit and a
 * backend woken), so that callers due together pay for one. `run` answers each item in order;
 * when it throws, every item of that run is rejected with its error.
 */
export class GroupCommit<I, O> {
  private waiting: Waiting<I, O>[] = []
  private busy = false
  private scheduled = false

  constructor(private readonly run: (items: I[]) => Promise<O[]>) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.busy || this.scheduled || this.waiting.length === 0) return
    this.scheduled = true
    // After the current turn: callers whose timers fell due together have all submitted by then.
    setImmediate(() => {
      this.scheduled = false
      void this.flush()
    })
  }

  private async flush(): Promise<void> {
    if (this.busy || this.waiting.length === 0) return
    this.busy = true
    const take = this.waiting
    this.waiting = []
    try {
      const out = await this.run(take.map((w) => w.item))
      for (const [i, w] of take.entries()) w.resolve(out[i]!)
    } catch (err) {
      for (const w of take) w.reject(err)
    } finally {
      this.busy = false
      this.schedule()
    }
  }
}
