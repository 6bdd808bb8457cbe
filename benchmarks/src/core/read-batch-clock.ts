/**
 * When a frame reached a load worker's socket, as near as one process holding many clients can
 * tell. A worker holding a whole group runs its 1,023 receivers on one thread: the frames of one
 * fan-out are read in batches (one epoll wake-up each), and each client library parses, checks
 * and dispatches its frame before the next socket is read, so the last member's `event` reaches
 * the app only after the worker has handled every other member's copy (and whatever timers ran
 * first) — a wait no real member, on its own device, has.
 *
 * Every frame read in one poll phase was in its socket when the phase began, so the phase's first
 * hand-over (late by that one frame's handling) bounds from above when each frame of the batch
 * arrived. A batch ends when the loop reaches its check phase (`defer`: setImmediate), or after
 * `maxPerBatch` frames: libuv reads at most 1,024 events per epoll call and polls again in the
 * same phase when that many were ready, and a frame read by the second call may have arrived after
 * the batch began. Restarting every `maxPerBatch` frames keeps a stamp late (the handling of up to
 * that many frames), never much early: at worst, in that rare full-epoll case, by the handling of
 * fewer than `maxPerBatch` frames.
 */
export class ReadBatchClock {
  private start: number | undefined
  private count = 0

  constructor(
    private readonly defer: (f: () => void) => void = (f) => setImmediate(f),
    private readonly maxPerBatch = 256,
  ) {}

  /** The stamp of a frame handed over at `now`: the start of its read batch. */
  stamp(now: number): number {
    if (this.start === undefined) {
      this.defer(() => {
        this.start = undefined
      })
      this.start = now
      this.count = 0
    } else if (this.count >= this.maxPerBatch) {
      this.start = now
      this.count = 0
    }
    this.count++
    return this.start
  }
}
