import {
  type Names,
  PRESENCE_QUERY_MAX_USERS,
  type PresenceAnswer,
  presenceAnswerDecoder,
} from '@chatapp/contracts'
import type { Logger, RangeReader } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import { createRosterJudge, type RosterJudge, readRoster } from './presence-roster.js'
import { devicesOnline } from './presence-view.js'

/**
 * How long a query waits for the gateways it expects. A gateway that does not answer in time
 * counts as holding nothing: its users look offline to this query only, and its next change or
 * the asker's next query corrects that.
 */
export const QUERY_WAIT_MS = 2_000

/**
 * Asks every live gateway what it holds of `users` (ADR 0174): one core NATS request per
 * PRESENCE_QUERY_MAX_USERS users, answered by all gateways, gathered until `expected` answers
 * came or QUERY_WAIT_MS passed. No request when no gateway is live: nobody is online.
 */
export const askGateways = async (
  nc: NatsConnection,
  n: Names,
  expected: number,
  users: readonly string[],
  log: Logger,
): Promise<PresenceAnswer[]> => {
  const out: PresenceAnswer[] = []
  if (expected === 0 || users.length === 0) return out
  for (let i = 0; i < users.length; i += PRESENCE_QUERY_MAX_USERS) {
    const payload = JSON.stringify({ users: users.slice(i, i + PRESENCE_QUERY_MAX_USERS) })
    try {
      const replies = await nc.requestMany(n.presenceQuerySubject, payload, {
        strategy: 'count',
        maxMessages: expected,
        maxWait: QUERY_WAIT_MS,
      })
      for await (const m of replies) {
        const d = presenceAnswerDecoder.decode(m.data)
        if (d.ok) out.push(d.value)
        else log.warn({ error: d.error }, 'presence answer refused')
      }
    } catch (err) {
      // No responders or a dropped connection: what came counts, the rest holds nothing now.
      log.warn({ err }, 'presence query ended early')
    }
  }
  return out
}

/** The roster is read again when a query finds it older than this. */
const ROSTER_MAX_AGE_MS = 5_000

/**
 * Presence for a process that is not a gateway (the push worker): which devices of some users
 * have a live socket anywhere. It judges the roster by the reads it makes itself.
 */
export const createPresenceReader = (nc: NatsConnection, n: Names, ranges: RangeReader, log: Logger) => {
  const judge: RosterJudge = createRosterJudge()
  let readAt = Number.NEGATIVE_INFINITY
  let reading: Promise<void> | undefined
  const refresh = () => {
    reading ??= readRoster(ranges, n)
      .then((entries) => {
        judge.read(entries, Date.now())
        readAt = Date.now()
      })
      .finally(() => {
        reading = undefined
      })
    return reading
  }
  return {
    async devicesOnline(userIds: readonly string[]): Promise<Map<string, Set<string>>> {
      if (Date.now() - readAt > ROSTER_MAX_AGE_MS) await refresh()
      const answers = await askGateways(nc, n, judge.live().length, userIds, log)
      const out = new Map<string, Set<string>>()
      for (const u of userIds) out.set(u, devicesOnline(answers.flatMap((a) => a.users[u] ?? [])))
      return out
    },
  }
}

export type PresenceReader = ReturnType<typeof createPresenceReader>
