import type { PlannedConversation, PlannedUser } from '../load/messages.js'

/**
 * Who talks to whom, and which worker runs them. A conversation and all its members go to one
 * worker; workers get whole conversations, round robin, and a rate proportional to their number
 * of senders. Groups fewer than the workers are split instead (`splitGroupPlan`).
 */
export interface WorkerPlan {
  users: PlannedUser[]
  conversations: PlannedConversation[]
  /** Send slots: one per member of a direct conversation, one per group (its members take turns). */
  slots: number
}

export const username = (runTag: string, index: number): string => `b${runTag}_${index}`

const user = (runTag: string, index: number): PlannedUser => ({
  index,
  username: username(runTag, index),
  password: `pw-${runTag}-${index}`,
})

const emptyPlans = (workers: number): WorkerPlan[] =>
  Array.from({ length: workers }, () => ({ users: [], conversations: [], slots: 0 }))

const assign = (convs: PlannedConversation[], workers: number, runTag: string): WorkerPlan[] => {
  const plans = emptyPlans(workers)
  convs.forEach((c, i) => {
    const p = plans[i % workers]!
    p.conversations.push(c)
    for (const m of c.members) p.users.push(user(runTag, m))
    p.slots += c.kind === 'direct' ? c.members.length : 1
  })
  return plans
}

/** `clients` users in pairs (an odd last user is left out). */
export const directPlan = (clients: number, workers: number, runTag: string): WorkerPlan[] =>
  assign(
    Array.from({ length: Math.floor(clients / 2) }, (_, i) => ({
      kind: 'direct' as const,
      members: [2 * i, 2 * i + 1],
    })),
    workers,
    runTag,
  )

export const groupPlan = (groups: number, size: number, workers: number, runTag: string): WorkerPlan[] => {
  const convs = Array.from({ length: groups }, (_, g) => ({
    kind: 'group' as const,
    members: Array.from({ length: size }, (_, k) => g * size + k),
  }))
  return groups < workers ? splitGroupPlan(convs, workers, runTag) : assign(convs, workers, runTag)
}

/**
 * Each group's members dealt over every worker, round robin (ADR 0175 addendum). With fewer
 * groups than workers, whole groups would leave workers idle, and one worker would read every
 * member's copy of a message on one thread: its own handling, not the server's, would decide when
 * the last member has it (1,023 copies took the worker about 30 ms). The worker holding a group's
 * first member (its owner) creates the group and sends, its members taking turns; the others only
 * receive. Each worker reports when its last member got each message, and the coordinator takes
 * the latest (core/split-arrivals.ts).
 */
const splitGroupPlan = (convs: PlannedConversation[], workers: number, runTag: string): WorkerPlan[] => {
  const plans = emptyPlans(workers)
  convs.forEach((c, g) => {
    const local: number[][] = plans.map(() => [])
    c.members.forEach((m, k) => {
      local[k % workers]!.push(m)
      plans[k % workers]!.users.push(user(runTag, m))
    })
    plans.forEach((p, w) => {
      if (local[w]!.length === 0) return
      p.conversations.push({ ...c, split: { key: `g${g}`, local: local[w]!, owner: w === 0 } })
      if (w === 0) p.slots += 1
    })
  })
  return plans
}

/** Splits a total rate over workers in proportion to their send slots. */
export const splitRate = (rate: number, plans: readonly WorkerPlan[]): number[] => {
  const slots = plans.reduce((a, p) => a + p.slots, 0)
  return plans.map((p) => (slots === 0 ? 0 : (rate * p.slots) / slots))
}

/** Splits `total` into `parts` near-equal integers. */
export const splitCount = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))

/** 127.0.0.1 … 127.0.0.k: the Linux loopback answers on the whole 127/8 without configuration. */
export const sourceAddresses = (k: number): string[] =>
  Array.from({ length: k }, (_, i) => `127.0.0.${i + 1}`)

/** The ramp's rates: start, start+step, … up to max. */
export const rampRates = (start: number, step: number, max: number): number[] => {
  const out: number[] = []
  for (let r = start; r <= max; r += step) out.push(r)
  return out
}
