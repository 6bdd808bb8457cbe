import type { ConnectionState } from '@chatapp/client'

/** One reconnection of a device: when its socket was lost and when each step after it finished. */
export interface Reconnection {
  lostAt: number
  /** The socket is open (state `authenticating`). */
  openAt?: number
  /** `hello` arrived (state `syncing`). */
  helloAt?: number
  /** The first sync completed (state `live`). */
  liveAt?: number
}

/** Per fault: how long the devices it cut off took, step by step (worst and median, ms). */
export interface ReconnectSteps {
  target: string
  devices: number
  /** lost → socket open, open → hello, hello → synced, lost → synced. */
  worstMs: { open: number; hello: number; sync: number; total: number }
  medianMs: { open: number; hello: number; sync: number; total: number }
}

/**
 * Records the connection states of every device, so a gateway kill's pause can be split into its
 * steps: the client's backoff and the connect through the balancer, the upgrade and token check,
 * and the sync of what was missed. The delivery pause the run reports is these plus the resend.
 */
export class ReconnectTimeline {
  private readonly byDevice = new Map<string, Reconnection[]>()

  state(device: string, next: ConnectionState, prev: ConnectionState, at: number): void {
    const list = this.byDevice.get(device) ?? []
    this.byDevice.set(device, list)
    if (next === 'reconnecting' && prev !== 'reconnecting') list.push({ lostAt: at })
    const cur = list[list.length - 1]
    if (!cur || cur.liveAt !== undefined) return
    if (next === 'authenticating') cur.openAt ??= at
    else if (next === 'syncing') cur.helloAt ??= at
    else if (next === 'live') cur.liveAt = at
  }

  /** The reconnections that began within `windowMs` after each fault at `at`. */
  steps(faults: { target: string; at: number }[], windowMs = 1_000): ReconnectSteps[] {
    return faults.map((f) => {
      const hit = [...this.byDevice.values()]
        .flat()
        .filter((r) => r.lostAt >= f.at && r.lostAt < f.at + windowMs && r.liveAt !== undefined)
      const span = (pick: (r: Reconnection) => number) => hit.map(pick).sort((a, b) => a - b)
      const parts = {
        open: span((r) => (r.openAt ?? r.liveAt!) - r.lostAt),
        hello: span((r) => (r.helloAt ?? r.liveAt!) - (r.openAt ?? r.lostAt)),
        sync: span((r) => r.liveAt! - (r.helloAt ?? r.openAt ?? r.lostAt)),
        total: span((r) => r.liveAt! - r.lostAt),
      }
      const at = (xs: number[], q: number) =>
        Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0)
      return {
        target: f.target,
        devices: hit.length,
        worstMs: {
          open: at(parts.open, 1),
          hello: at(parts.hello, 1),
          sync: at(parts.sync, 1),
          total: at(parts.total, 1),
        },
        medianMs: {
          open: at(parts.open, 0.5),
          hello: at(parts.hello, 0.5),
          sync: at(parts.sync, 0.5),
          total: at(parts.total, 0.5),
        },
      }
    })
  }
}
