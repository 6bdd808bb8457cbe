import type { PresenceAnswer, PresenceValue } from '@chatapp/contracts'

/** A user's presence over every gateway: online if any gateway says so, else the latest lastSeen. */
export const aggregatePresence = (perGateway: Iterable<PresenceValue>): PresenceValue => {
  let lastSeen: number | null = null
  for (const v of perGateway) {
    if (v.online) return { online: true, lastSeen: null }
    if (v.lastSeen !== null && (lastSeen === null || v.lastSeen > lastSeen)) lastSeen = v.lastSeen
  }
  return { online: false, lastSeen }
}

/** The devices of a user with a live socket on any gateway (the push worker's "is it online"). */
export const devicesOnline = (perGateway: Iterable<PresenceValue>): Set<string> => {
  const out = new Set<string>()
  for (const v of perGateway) if (v.online) for (const d of v.devices ?? []) out.add(d)
  return out
}

/** One gateway's value for a user, with the gateway's change number it is as of. */
interface Held {
  value: PresenceValue
  seq: number
}

/**
 * What a process knows of some users' presence, per gateway, merged from answers to queries and
 * from the changes gateways publish (ADR 0174). Both carry the gateway's change number, so an
 * answer that was on its way while a newer change arrived cannot undo it: the order in which the
 * two reach us does not matter. Pure: no clock, no I/O.
 */
export const createPresenceView = () => {
  const users = new Map<string, Map<string, Held>>()

  const set = (userId: string, gateway: string, value: PresenceValue | undefined, seq: number): boolean => {
    const per = users.get(userId)
    if (!per) return false
    const held = per.get(gateway)
    if (held && held.seq > seq) return false
    const before = aggregatePresence(values(per))
    if (value) per.set(gateway, { value, seq })
    else per.delete(gateway)
    const after = aggregatePresence(values(per))
    return before.online !== after.online || before.lastSeen !== after.lastSeen
  }

  function* values(per: Map<string, Held>): Iterable<PresenceValue> {
    for (const h of per.values()) yield h.value
  }

  return {
    /** Starts holding a user (nothing known yet: offline, never seen). */
    track(userId: string) {
      if (!users.has(userId)) users.set(userId, new Map())
    },
    forget(userId: string) {
      users.delete(userId)
    },
    tracks: (userId: string) => users.has(userId),
    tracked: () => users.keys(),
    /** A gateway's change; true when the user's aggregate presence changed with it. */
    change: (userId: string, gateway: string, value: PresenceValue, seq: number) =>
      set(userId, gateway, value, seq),
    /**
     * A gateway's answer about `asked`: a user it did not name is one it holds nothing of. Returns
     * the users whose aggregate changed.
     */
    answer(asked: Iterable<string>, a: PresenceAnswer): string[] {
      const changed: string[] = []
      for (const u of asked) if (set(u, a.gateway, a.users[u], a.seq)) changed.push(u)
      return changed
    },
    /**
     * A gateway that stopped without saying so (it missed its roster rewrites): its online users
     * went offline when it was last known alive. Returns the users whose aggregate changed.
     */
    gatewayGone(gateway: string, lastAlive: number): string[] {
      const changed: string[] = []
      for (const [u, per] of users) {
        const held = per.get(gateway)
        if (!held) continue
        const value = held.value.online ? { online: false, lastSeen: lastAlive } : held.value
        if (set(u, gateway, value, held.seq)) changed.push(u)
      }
      return changed
    },
    presence: (userId: string): PresenceValue => aggregatePresence(values(users.get(userId) ?? new Map())),
  }
}

export type PresenceView = ReturnType<typeof createPresenceView>
