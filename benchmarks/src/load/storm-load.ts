import { encodeHistogram, newHistogram, recordUs } from '../core/latency.js'
import type { StormSetup, StormWave, StormWaveResult } from './messages.js'
import { Session } from './session.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * One worker's devices of the reconnect storm. In each wave every device connects at its own
 * moment (open loop: on schedule, whether or not earlier ones are done), authenticates with its
 * token, syncs from the cursors it holds and counts the messages the sync brings; the cursors it
 * reaches are those of its next wave. Between waves the devices drop (no close handshake), as a
 * phone losing its network does.
 */
export class StormLoad {
  private readonly cursors: Map<string, number>[]
  private sessions: Session[] = []
  private counts = { started: 0, synced: 0, failed: 0 }

  constructor(private readonly s: StormSetup) {
    this.cursors = s.devices.map((d) => new Map(Object.entries(d.cursors)))
  }

  progress() {
    return {
      sent: this.counts.started,
      stored: 0,
      delivered: this.counts.synced,
      errors: this.counts.failed,
      open: this.sessions.filter((x) => x.open).length,
    }
  }

  async wave(w: StormWave): Promise<StormWaveResult> {
    this.counts = { started: 0, synced: 0, failed: 0 }
    const hist = { hello: newHistogram(), synced: newHistogram(), total: newHistogram() }
    const failures: Record<string, number> = {}
    const caughtPer = this.s.devices.map(() => -1)
    const perConversation = this.s.devices.map(() => ({
      caught: {} as Record<string, number>,
      synced: {} as Record<string, number>,
    }))
    let redelivered = 0
    let lastSyncedAt = 0
    const fail = (why: string) => {
      this.counts.failed++
      failures[why] = (failures[why] ?? 0) + 1
    }
    await Promise.all(
      this.s.devices.map(async (d, i) => {
        await sleep(w.startAt + d.offsetMs - Date.now())
        this.counts.started++
        let caught = 0
        let onClose: (code: number) => void = () => {}
        const closed = new Promise<never>((_, reject) => {
          onClose = (code) => reject(new Error(`closed with ${code}`))
        })
        closed.catch(() => {})
        const addr = this.s.localAddresses[i % this.s.localAddresses.length]
        const session = new Session({
          wsUrl: this.s.wsUrl,
          token: d.token,
          ...(addr ? { localAddress: addr } : {}),
          onEvent: (f, live) => {
            if (!live && f.event.type === 'message.sent') {
              caught++
              const by = perConversation[i]!.caught
              by[f.conversationId] = (by[f.conversationId] ?? 0) + 1
            }
          },
          onClose: (code) => onClose(code),
          timeoutMs: w.timeoutMs,
        })
        for (const [k, v] of this.cursors[i]!) session.cursors.set(k, v)
        const t0 = performance.now()
        try {
          await session.connect()
          const t1 = performance.now()
          const synced = await Promise.race([session.sync(0, w.timeoutMs), closed])
          const t2 = performance.now()
          lastSyncedAt = Math.max(lastSyncedAt, Date.now())
          recordUs(hist.hello, (t1 - t0) * 1000)
          recordUs(hist.synced, (t2 - t1) * 1000)
          recordUs(hist.total, (t2 - t0) * 1000)
          for (const [k, v] of Object.entries(synced.cursors)) this.cursors[i]!.set(k, v)
          perConversation[i]!.synced = synced.cursors
          this.sessions.push(session)
          this.counts.synced++
          caughtPer[i] = caught
          redelivered += session.redelivered
        } catch (e) {
          // The close code or error as it came (1006: the connection broke; 4xxx: the gateway's).
          fail(e instanceof Error ? e.message : String(e))
          session.kill()
        }
      }),
    )
    return {
      started: this.counts.started,
      synced: this.counts.synced,
      failures,
      connectToHello: encodeHistogram(hist.hello),
      helloToSynced: encodeHistogram(hist.synced),
      connectToSynced: encodeHistogram(hist.total),
      caught: caughtPer,
      perConversation,
      redelivered,
      lastSyncedAt,
    }
  }

  /** Every device loses its network at once. */
  drop(): void {
    for (const s of this.sessions) s.kill()
    this.sessions = []
  }

  close(): void {
    for (const s of this.sessions) s.close()
    this.sessions = []
  }
}
