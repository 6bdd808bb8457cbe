import { directPlan, groupPlan, rampRates, type WorkerPlan } from '../core/plan.js'
import type { PhaseResult } from '../core/result.js'
import { runChatStep, setupChat } from './chat-phase.js'
import type { RunContext } from './context.js'

const stepOf = (ctx: RunContext, rate: number, durationS = ctx.o.durationS) => ({
  rate,
  durationMs: durationS * 1000,
  drainTimeoutMs: ctx.o.drainTimeoutS * 1000,
})

/**
 * `--warmup S`: the same load for S seconds on the same connections first, as a phase of its own
 * (its figures are printed, not the measured ones): the first messages of a run meet cold code
 * (the JIT) and rooms still settling after the setup, which a server that has been running has not.
 */
const warmUp = async (
  ctx: RunContext,
  o: RunContext['o'],
  name: string,
  plans: WorkerPlan[],
  size: { clients: number; conversations: number },
): Promise<PhaseResult[]> => {
  if (o.warmupS <= 0) return []
  const p = await runChatStep(ctx, `${name} warm-up`, plans, size, stepOf(ctx, o.rate, o.warmupS))
  return [{ ...p, extra: { ...p.extra, 'warm-up': `not the figure: ${o.warmupS} s before "${name}"` } }]
}

/** N users in 1:1 pairs, both sides sending, at a fixed total offered rate. */
export const runDirect = async (ctx: RunContext, o = ctx.o, name = 'direct'): Promise<PhaseResult[]> => {
  const plans = directPlan(o.clients, ctx.pool.size, `${ctx.runTag}d`)
  const size = await setupChat(ctx, plans)
  const warm = await warmUp(ctx, o, name, plans, size)
  return [...warm, await runChatStep(ctx, name, plans, size, stepOf(ctx, o.rate, o.durationS))]
}

/** G groups of S members; members take turns sending; the figure is the time to the last member. */
export const runGroup = async (ctx: RunContext, o = ctx.o, name = 'group'): Promise<PhaseResult[]> => {
  const plans = groupPlan(o.groups, o.groupSize, ctx.pool.size, `${ctx.runTag}g`)
  const size = await setupChat(ctx, plans)
  const label = `${name} ${o.groups}×${o.groupSize}`
  const warm = await warmUp(ctx, o, label, plans, size)
  return [...warm, await runChatStep(ctx, label, plans, size, stepOf(ctx, o.rate, o.durationS))]
}

/**
 * Raises the offered rate step by step on the same connections until p99 send→delivered passes
 * the target, or a message is lost, or the system no longer keeps up with what is offered.
 * The highest step that passed is the result ("sustained").
 */
export const runRamp = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  const plans = directPlan(o.clients, ctx.pool.size, `${ctx.runTag}r`)
  const size = await setupChat(ctx, plans)
  const phases: PhaseResult[] = []
  let sustained: PhaseResult | undefined
  const verdict = (p: PhaseResult, rate: number): 'pass' | 'slow' | 'broken' =>
    p.check.lost + p.check.duplicated + p.check.outOfOrder > 0
      ? 'broken'
      : p.sendToDelivered.p99 > o.targetP99Ms || p.stored < 0.97 * p.sent || p.deliveredPerSecond < 0.9 * rate
        ? 'slow'
        : 'pass'
  for (const rate of rampRates(o.startRate, o.stepRate, o.maxRate)) {
    let p = await runChatStep(ctx, `ramp ${rate}/s`, plans, size, stepOf(ctx, rate))
    phases.push(p)
    let v = verdict(p, rate)
    if (v === 'slow') {
      // One slow step on a shared machine can be somebody else's build: a step is over the
      // target only when a second try at the same rate is too. Loss is never retried.
      ctx.log(`ramp ${rate}/s: p99 ${p.sendToDelivered.p99} ms over the target; trying the same rate again`)
      p = await runChatStep(ctx, `ramp ${rate}/s (again)`, plans, size, stepOf(ctx, rate))
      phases.push(p)
      v = verdict(p, rate)
    }
    ctx.log(
      `ramp ${rate}/s: p99 send→delivered ${p.sendToDelivered.p99} ms, delivered ${p.deliveredPerSecond}/s${v === 'pass' ? '' : ' — over the target, stopping'}`,
    )
    if (v !== 'pass') break
    sustained = p
  }
  ctx.notes.push(
    sustained
      ? `ramp: highest sustained rate ${sustained.offeredRate} msg/s (p99 send→delivered ${sustained.sendToDelivered.p99} ms ≤ ${o.targetP99Ms} ms, nothing lost)`
      : `ramp: even the first step (${o.startRate} msg/s) missed the p99 target of ${o.targetP99Ms} ms`,
  )
  return phases.map((p) => ({ ...p, extra: { ...p.extra, sustained: p === sustained ? 'yes' : 'no' } }))
}

/** Direct pairs where K devices drop mid-run (no close handshake) and resync from their cursors. */
export const runReconnect = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  const plans = directPlan(o.clients, ctx.pool.size, `${ctx.runTag}k`)
  const size = await setupChat(ctx, plans)
  const perWorker = Math.ceil(o.reconnectClients / ctx.pool.size)
  return [
    await runChatStep(ctx, 'reconnect', plans, size, {
      ...stepOf(ctx, o.rate),
      reconnect: { clients: perWorker, offlineMs: o.offlineS * 1000, atMs: (o.durationS * 1000) / 4 },
    }),
  ]
}
