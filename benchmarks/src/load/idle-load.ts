import { mapLimit } from './accounts.js'
import type { IdleSetup } from './messages.js'
import { Session } from './session.js'

/**
 * Idle connections for the memory-per-connection figure: each authenticates and syncs, then sits.
 * Source addresses rotate over 127.0.0.x, since one source address has only ~28k ephemeral ports
 * towards one server port.
 */
export class IdleLoad {
  private readonly sessions: Session[] = []
  closedEarly = 0

  constructor(private readonly s: IdleSetup) {}

  async setup(): Promise<{ clients: number }> {
    const tokens = this.s.tokens
    let opened = 0
    await mapLimit(
      Array.from({ length: this.s.connections }, (_, i) => i),
      64,
      async (i) => {
        const addr = this.s.localAddresses[i % this.s.localAddresses.length]
        const session = new Session({
          wsUrl: this.s.wsUrl,
          token: tokens[(this.s.tokenOffset + i) % tokens.length]!,
          ...(addr ? { localAddress: addr } : {}),
          onEvent: () => {},
          onClose: () => {
            this.closedEarly++
          },
          timeoutMs: 60_000,
        })
        try {
          await session.connect()
          await session.sync(0)
          this.sessions.push(session)
          opened++
        } catch {
          // A refused or timed-out connection is counted (as not opened), not fatal: the
          // scenario reports how many of the asked-for connections the gateway held.
          session.kill()
        }
      },
    )
    return { clients: opened }
  }

  openCount(): number {
    return this.sessions.filter((s) => s.open).length
  }

  close(): void {
    for (const s of this.sessions) s.close()
  }
}
