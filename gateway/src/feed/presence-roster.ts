import { gatewayRosterEntryDecoder, type Names } from '@chatapp/contracts'
import type { RangeReader } from '@chatapp/kit'

/** A gateway is gone after this many of its roster rewrites failed to appear. */
export const MISSED_REWRITES = 3

export const rosterKey = (gatewayId: string) => `gateways.${gatewayId}`

/** One gateway's roster entry as read: its stream sequence, when it was stored, what it says. */
export interface RosterEntry {
  rev: number
  storedAt?: number
  refreshMs: number
  seq: number
  /** The gateway deleted its entry: it stopped cleanly (its users' departures were published). */
  left?: boolean
}

interface Seen {
  /** Stream sequence of the entry as last read: a rewrite changes it. */
  rev: number
  /** The gateway's own rewrite interval, from its entry. */
  refreshMs: number
  /** Local time the entry was last seen rewritten (or the gateway last heard from). */
  alive: number
}

/**
 * Which gateways are alive, judged by one process from the roster entries gateways rewrite every
 * `refreshMs` (ADR 0174). Liveness is "a rewrite seen within three of the writer's intervals",
 * timed by the reader's own clock: no clock is compared across hosts. Pure: reads arrive as
 * arguments.
 */
export const createRosterJudge = (self?: string) => {
  const seen = new Map<string, Seen>()

  return {
    /**
     * One full read of the roster at `now`: gateway → (stream sequence, entry). Returns the
     * gateways that are gone since the last judgement, with when each was last known alive, and
     * whether it left cleanly (deleted its entry) or went silent.
     */
    read(entries: Map<string, RosterEntry>, now: number) {
      // A gateway first seen here is as old as its entry, measured against the newest entry: both
      // stamps are the stream's (one clock), so a reader started after a crash is not fooled by
      // the crashed gateway's entry that the TTL has not removed yet.
      let newest = Number.NEGATIVE_INFINITY
      for (const e of entries.values())
        if (e.storedAt !== undefined && e.storedAt > newest) newest = e.storedAt
      const gone: { gateway: string; lastAlive: number; clean: boolean }[] = []
      for (const [g, e] of entries) {
        const s = seen.get(g)
        if (e.left) {
          if (s && g !== self) gone.push({ gateway: g, lastAlive: now, clean: true })
          seen.delete(g)
          continue
        }
        const age = e.storedAt !== undefined && Number.isFinite(newest) ? Math.max(0, newest - e.storedAt) : 0
        const entry = { rev: e.rev, refreshMs: e.refreshMs }
        if (!s) seen.set(g, { ...entry, alive: now - age })
        else if (s.rev !== e.rev) Object.assign(s, entry, { alive: now })
      }
      for (const [g, s] of seen) {
        if (g === self) continue
        if (
          now - s.alive > MISSED_REWRITES * s.refreshMs ||
          (!entries.has(g) && now - s.alive > s.refreshMs)
        ) {
          seen.delete(g)
          gone.push({ gateway: g, lastAlive: s.alive, clean: false })
        }
      }
      return gone
    },
    /** A gateway was heard from (a change or an answer): alive now, even before its entry is read. */
    heard(gateway: string, now: number, refreshMs: number) {
      const s = seen.get(gateway)
      if (s) s.alive = Math.max(s.alive, now)
      else seen.set(gateway, { rev: -1, refreshMs, alive: now })
    },
    live: (): string[] => [...seen.keys()],
    isLive: (gateway: string) => seen.has(gateway),
  }
}

export type RosterJudge = ReturnType<typeof createRosterJudge>

/** The roster's current entries: direct gets of the bucket's stream, no consumer. */
export const readRoster = async (ranges: RangeReader, n: Names) => {
  const out = new Map<string, RosterEntry>()
  const prefix = `$KV.${n.presenceBucket}.gateways.`
  for await (const m of ranges.read(`KV_${n.presenceBucket}`, `${prefix}*`, 0, Number.MAX_SAFE_INTEGER)) {
    const g = m.subject.slice(prefix.length)
    const d = m.header('KV-Operation') ? undefined : gatewayRosterEntryDecoder.decode(m.data)
    if (d?.ok)
      out.set(g, { rev: m.seq, storedAt: m.storedAt, refreshMs: d.value.refreshMs, seq: d.value.seq })
    else out.set(g, { rev: m.seq, storedAt: m.storedAt, refreshMs: 1, seq: 0, left: true })
  }
  return out
}
