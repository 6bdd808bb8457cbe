import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeHistogram, mergeHistograms, summarize } from '../core/latency.js'
import { splitRate, type WorkerPlan } from '../core/plan.js'
import type { PhaseResult, TimelinePoint } from '../core/result.js'
import { addCounts, ZERO_COUNTS } from '../core/sequence-checker.js'
import { mergeSplitArrivals } from '../core/split-arrivals.js'
import { slowestMessages } from '../core/stall.js'
import type { FromWorker, RunStep, SplitResult, SplitStored, StepResult } from '../load/messages.js'
import { fmtInt } from '../report/format.js'
import type { ClosedWindow, CostWindow } from '../system/cost-meter.js'
import { watchFanout } from '../system/fanout-probe.js'
import { cpuBetween } from '../system/proc-sampler.js'
import { readStalls } from '../system/stall-logs.js'
import type { RunContext } from './context.js'

/** Sets up a chat load on the workers (users, connections, conversations): not measured. */
export const setupChat = async (
  ctx: RunContext,
  plans: WorkerPlan[],
): Promise<{ clients: number; conversations: number }> => {
  const t0 = performance.now()
  const total = plans.reduce((a, p) => a + p.users.length, 0)
  ctx.bar.start(
    'setup',
    Math.max(5000, total * 150),
    () => `${fmtInt(ctx.pool.progress().open)}/${fmtInt(total)} connected`,
  )
  try {
    const replies = await ctx.pool.setup(
      plans.map((p) =>
        p.conversations.length === 0
          ? undefined
          : {
              kind: 'chat' as const,
              httpUrl: ctx.httpUrl,
              wsUrls: ctx.wsUrls,
              users: p.users,
              conversations: p.conversations,
              msgBytes: ctx.o.msgBytes,
              receiptIntervalMs: ctx.o.receiptIntervalMs,
            },
      ),
      600_000,
    )
    let clients = 0
    let conversations = 0
    for (const r of replies)
      if (r.type === 'ready') {
        clients += r.clients
        conversations += r.conversations
      }
    conversations += await setupSplitGroups(ctx, plans, replies)
    ctx.bar.stop()
    ctx.log(
      `${fmtInt(clients)} clients in ${fmtInt(conversations)} conversations ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )
    return { clients, conversations }
  } finally {
    ctx.bar.stop()
  }
}

/** `--stalls`: how many of a step's slowest messages the report lays beside the processes' stalls. */
const TAIL_MESSAGES = 5

const holdsSplit = (plans: WorkerPlan[]) => plans.map((p) => p.conversations.some((c) => c.split))

/**
 * Groups split over workers (core/plan.ts), once every worker is set up: their owners create them
 * with every member's user id, then every worker binds them and waits for its members. Returns
 * how many there are.
 */
const setupSplitGroups = async (
  ctx: RunContext,
  plans: WorkerPlan[],
  replies: FromWorker[],
): Promise<number> => {
  const active = holdsSplit(plans)
  if (!active.some(Boolean)) return 0
  const keys = new Set(plans.flatMap((p) => p.conversations.flatMap((c) => (c.split ? [c.split.key] : []))))
  const userIds: Record<number, string> = Object.assign(
    {},
    ...replies.map((r) => (r.type === 'ready' ? (r.userIds ?? {}) : {})),
  )
  const ids = await ctx.pool.split(userIds, undefined, active)
  const missing = [...keys].filter((k) => !ids[k])
  if (missing.length > 0) throw new Error(`split groups without an id after creation: ${missing.join(', ')}`)
  await ctx.pool.split({}, ids, active)
  ctx.log(`${keys.size} group(s) split over ${active.filter(Boolean).length} load workers`)
  return keys.size
}

/** What the owners of split groups stored in a step, merged. */
const mergeSplitStored = (results: StepResult[]): SplitStored => ({
  ranges: Object.assign({}, ...results.map((r) => r.split?.ranges ?? {})),
  storedInStep: Object.assign({}, ...results.map((r) => r.split?.storedInStep ?? {})),
})

/**
 * With `--profile DIR`: a CPU profile of each service over the steady part of the step (from 0.5 s
 * in to 0.5 s before its end, through the ops endpoint), written as DIR/<step>-<service>.cpuprofile;
 * with `--allocations`, an allocation profile (garbage included) as <step>-<service>.heapprofile.
 */
export const profileStep = async (ctx: RunContext, step: string, durationMs: number): Promise<void> => {
  const dir = ctx.o.profileDir
  const seconds = (durationMs - 1000) / 1000
  if (!dir || !ctx.stack || seconds < 1) return
  const cpu = ctx.o.profileKind === 'cpu'
  mkdirSync(dir, { recursive: true })
  await new Promise((r) => setTimeout(r, 500))
  await Promise.all(
    [...ctx.stack.running.values()].map(async (svc) => {
      try {
        const [endpoint, ext] = cpu ? ['cpu-profile', 'cpuprofile'] : ['allocation-profile', 'heapprofile']
        const res = await fetch(`http://127.0.0.1:${svc.opsPort}/debug/${endpoint}?seconds=${seconds}`)
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        writeFileSync(join(dir, `${step}-${svc.label}.${ext}`.replace(/[^\w.-]+/g, '_')), await res.text())
      } catch (e) {
        ctx.notes.push(
          `no ${cpu ? 'CPU' : 'allocation'} profile of ${svc.label} for ${step}: ${e instanceof Error ? e.message : String(e)}`,
        )
      }
    }),
  )
}

/** Runs one measured step on every worker with a load, with a progress bar and a per-second timeline. */
export const runChatStep = async (
  ctx: RunContext,
  name: string,
  plans: WorkerPlan[],
  size: { clients: number; conversations: number },
  step: Omit<RunStep, 'rate'> & { rate: number },
): Promise<PhaseResult> => {
  const timeline: TimelinePoint[] = []
  const natsBefore = await ctx.cost.nats()
  const natsWatch = ctx.cost.watchNats()
  const fanout = await watchFanout(ctx)
  const base = ctx.pool.progress()
  let last = base
  const t0 = performance.now()
  const cpuBefore = ctx.sampler.cpuNow()
  // The steady state: from the end of the warm-up to the end of sending (the drain is not load).
  const warmMs = Math.min(2000, step.durationMs * 0.2)
  const opened = new Promise<CostWindow>((resolve) =>
    setTimeout(() => resolve(ctx.cost.open(ctx.pool.progress().stored)), warmMs),
  )
  let closeTimer: NodeJS.Timeout | undefined
  const closed = opened.then(
    (w) =>
      new Promise<ClosedWindow>((resolve) => {
        closeTimer = setTimeout(
          () => resolve(ctx.cost.close(w, ctx.pool.progress().stored)),
          Math.max(0, step.durationMs - (performance.now() - t0)),
        )
      }),
  )
  const profiles = profileStep(ctx, name, step.durationMs)
  const timer = setInterval(() => {
    const p = ctx.pool.progress()
    timeline.push({
      t: Math.round((performance.now() - t0) / 1000),
      sent: p.sent - last.sent,
      delivered: p.delivered - last.delivered,
    })
    last = p
  }, 1000)
  ctx.bar.start(name, step.durationMs, () => {
    const p = ctx.pool.progress()
    return `sent ${fmtInt(p.sent - base.sent)}  stored ${fmtInt(p.stored - base.stored)}  delivered ${fmtInt(p.delivered - base.delivered)}  errors ${fmtInt(p.errors - base.errors)}`
  })
  let results: StepResult[]
  try {
    results = await ctx.pool.run(
      step,
      splitRate(step.rate, plans),
      plans.map((p) => p.conversations.length > 0),
    )
  } catch (e) {
    clearTimeout(closeTimer)
    await natsWatch.stop()
    throw e
  } finally {
    clearInterval(timer)
    ctx.bar.stop()
  }
  // Split groups: every worker's share, once the owners' stored ranges are known.
  const splitActive = holdsSplit(plans)
  const split: SplitResult[] = splitActive.some(Boolean)
    ? await ctx.pool.settle(mergeSplitStored(results), step.drainTimeoutMs, splitActive)
    : []
  const splitLast = mergeSplitArrivals(split.map((r) => r.arrivals))
  const splitWorkers = splitActive.flatMap((held, i) => (held ? [i + 1] : []))
  const tail =
    ctx.o.stallDir && split.length > 0
      ? slowestMessages(
          split.map((r, i) => ({ worker: splitWorkers[i]!, arrivals: r.arrivals })),
          readStalls(ctx.o.stallDir),
          TAIL_MESSAGES,
        )
      : undefined
  await profiles
  const window = await closed
  const cost = ctx.cost.result({
    unit: 'message',
    window: `sending, from ${(warmMs / 1000).toFixed(1)} s in to its end (stored messages)`,
    closed: window,
    before: natsBefore,
    after: await ctx.cost.nats(),
    peak: await natsWatch.stop(),
  })
  // CPU of each component over this step only (setup and other phases excluded).
  const stepSeconds = (performance.now() - t0) / 1000
  const cpu: Record<string, string> = {}
  for (const [name, d] of cpuBetween(cpuBefore, ctx.sampler.cpuNow())) {
    const used = d.cpu / stepSeconds
    // Waiting for a CPU while runnable, as a share of the step: > 0.1 means starved of CPU.
    const waited = d.wait / stepSeconds
    cpu[`cpu: ${name}`] =
      `${used.toFixed(2)} cores, waited for a CPU ${(100 * waited).toFixed(0)} % of the time`
  }
  const sum = (f: (r: StepResult) => number) => results.reduce((a, r) => a + f(r), 0)
  const sendErrors: Record<string, number> = {}
  for (const r of results)
    for (const [k, v] of Object.entries(r.sendErrors)) sendErrors[k] = (sendErrors[k] ?? 0) + v
  const sendSeconds = Math.max(0.001, ...results.map((r) => r.sendSeconds))
  const splitSum = (f: (r: SplitResult) => number) => split.reduce((a, r) => a + f(r), 0)
  const delivered = sum((r) => r.delivered) + splitSum((r) => r.delivered)
  const expected = sum((r) => r.expected) + splitSum((r) => r.expected)
  const closes = sum((r) => r.unexpectedCloses)
  const clientErrors: Record<string, number> = {}
  for (const r of results)
    for (const [k, v] of Object.entries(r.clientErrors)) clientErrors[k] = (clientErrors[k] ?? 0) + v
  const resync = summarize(mergeHistograms(results.map((r) => r.resync)))
  const sendToDelivered = summarize(
    mergeHistograms([...results.map((r) => r.sendToDelivered), ...split.map((r) => r.sendToDelivered)]),
  )
  const lastMember = summarize(
    mergeHistograms([...results.map((r) => r.toLastMember), encodeHistogram(splitLast.last)]),
  )
  const lastMemberRead = summarize(
    mergeHistograms([...results.map((r) => r.toLastMemberRead), encodeHistogram(splitLast.lastRead)]),
  )
  const fanoutFigures = await fanout.stop()
  return {
    name,
    offeredRate: step.rate,
    durationS: Math.round(sendSeconds * 10) / 10,
    clients: size.clients,
    conversations: size.conversations,
    sent: sum((r) => r.sent),
    stored: sum((r) => r.stored),
    delivered,
    deliveredPerSecond: Math.round(delivered / sendSeconds),
    sendErrors,
    sendToSent: summarize(mergeHistograms(results.map((r) => r.sendToSent))),
    sendToDelivered,
    ...(lastMember.count > 0 ? { toLastMember: lastMember } : {}),
    check: [...results, ...split].reduce((a, r) => addCounts(a, r.check), ZERO_COUNTS),
    timeline,
    cost,
    ...(tail ? { tail } : {}),
    extra: {
      'expected deliveries': expected,
      // A worker thread holds many members of a group: this leaves out its handling of the other
      // copies read in the same batch, so a gap between the two figures is the load generator's (ADR 0175).
      ...(lastMemberRead.count > 0 ? { 'send→last member, at its read batch': lastMemberRead } : {}),
      ...(split.length > 0
        ? {
            'groups split over load workers': `${split.length} workers hold members of each group`,
            ...(splitLast.incomplete > 0
              ? { 'split groups: messages some member never got': splitLast.incomplete }
              : {}),
          }
        : {}),
      ...(lastMember.count > 0 ? fanoutFigures : {}),
      ...cpu,
      'redelivered (de-duplicated by seq)': sum((r) => r.redelivered),
      ...(closes > 0 ? { 'connections closed by the server': closes } : {}),
      ...Object.fromEntries(Object.entries(clientErrors).map(([k, v]) => [`client error ${k}`, v])),
      ...(resync.count > 0
        ? {
            'reconnect→synced': resync,
            'delivered by a resync (not live)': delivered - sendToDelivered.count,
          }
        : {}),
    },
  }
}
