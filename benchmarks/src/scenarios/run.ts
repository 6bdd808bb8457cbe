import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '@chatapp/infra'
import { measureJetStream } from '../ceilings/jetstream-ceiling.js'
import { measureWsEcho, startEchoServer } from '../ceilings/ws-echo-ceiling.js'
import type { Options } from '../core/options.js'
import { type Ceilings, failuresOf, type PhaseResult, type RunResult } from '../core/result.js'
import { WorkerPool } from '../load/pool.js'
import { renderHtml } from '../report/html.js'
import { ProgressBar } from '../report/progress-bar.js'
import { renderTable } from '../report/table.js'
import { type BenchStack, newBenchNamespace, startBenchStack } from '../system/bench-stack.js'
import { Cleanup } from '../system/cleanup.js'
import { LagProbe } from '../system/lag-probe.js'
import { gitCommit, machineInfo } from '../system/machine.js'
import { type Component, ProcSampler, pidsByName } from '../system/proc-sampler.js'
import type { ServiceName } from '../system/services.js'
import { runDirect, runGroup, runRamp, runReconnect } from './chat-scenarios.js'
import { runConnections } from './connections.js'
import type { RunContext } from './context.js'
import { runMedia } from './media.js'

const QUICK_GROUP_RATE = 20

const hardFileLimit = (): number => {
  try {
    const v = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
    return v === 'unlimited' ? 1_048_576 : Number(v) || 1024
  } catch {
    return 1024
  }
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`)

const servicesFor = (o: Options): ServiceName[] => {
  switch (o.scenario) {
    case 'ceilings':
      return []
    case 'connections':
      return ['gateway']
    case 'media':
      return ['gateway', 'projector', 'media-worker']
    case 'quick':
    case 'direct':
    case 'ramp':
    case 'group':
    case 'reconnect':
      return ['gateway', 'projector']
    default: {
      const never: never = o.scenario
      return never
    }
  }
}

const measureCeilings = async (
  ctx: RunContext,
  stack: BenchStack | undefined,
  cleanup: Cleanup,
): Promise<Ceilings> => {
  const o = ctx.o
  const out: Ceilings = {}
  if (stack) {
    ctx.bar.start('ceiling JetStream', o.ceilingSeconds * 1200, () => 'raw publish, same stream settings')
    try {
      out.jetstream = await measureJetStream({
        nc: stack.nc,
        names: stack.names,
        textBytes: o.msgBytes,
        durationMs: o.ceilingSeconds * 1000,
        window: 256,
        conversations: 1024,
      })
    } finally {
      ctx.bar.stop()
    }
  }
  const echo = await startEchoServer(cleanup)
  ctx.bar.start('ceiling uWS echo', o.ceilingSeconds * 1000, () => 'ws client → uWebSockets.js echo')
  try {
    out.wsEcho = await measureWsEcho(ctx.pool, echo.port, {
      connections: 64,
      depth: 4,
      msgBytes: o.msgBytes,
      durationMs: o.ceilingSeconds * 1000,
    })
  } finally {
    ctx.bar.stop()
    await echo.stop()
  }
  return out
}

const scenarioPhases = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  switch (o.scenario) {
    case 'ceilings':
      return []
    case 'quick':
      // The group phase at the group scenario's default rate: --rate is the direct phase's, and
      // 200 msg/s into one group is far beyond one conversation's serial appends (ADR 6).
      return [...(await runDirect(ctx)), ...(await runGroup(ctx, { ...o, rate: QUICK_GROUP_RATE }))]
    case 'direct':
      return runDirect(ctx)
    case 'group':
      return runGroup(ctx)
    case 'ramp':
      return runRamp(ctx)
    case 'reconnect':
      return runReconnect(ctx)
    case 'connections':
      return runConnections(ctx)
    case 'media':
      return runMedia(ctx)
    default: {
      const never: never = o.scenario
      return never
    }
  }
}

/** Runs one scenario end to end and returns the process exit code. */
export const runBenchmark = async (o: Options): Promise<number> => {
  const cleanup = new Cleanup()
  cleanup.onSignals(log)
  const bound = setTimeout(() => {
    log(`the run passed its bound of ${o.maxRunS} s: stopping everything`)
    void cleanup.run(log).finally(() => process.exit(3))
  }, o.maxRunS * 1000)
  bound.unref()
  const startedAt = new Date()
  const machine = machineInfo()
  const bar = new ProgressBar()
  try {
    let stack: BenchStack | undefined
    const services = servicesFor(o)
    // Raised for the gateway only, and never above our own hard limit (raising the hard limit
    // needs CAP_SYS_RESOURCE, which containers rarely grant).
    const hardNofile = hardFileLimit()
    const nofile =
      o.scenario === 'connections' ? Math.min(hardNofile, Math.max(20_000, o.connections + 2048)) : undefined
    if (nofile !== undefined && o.connections + 256 > nofile) {
      const note = `the file-descriptor hard limit is ${hardNofile}: the gateway cannot hold ${o.connections} connections (raise it with ulimit -Hn as root)`
      log(note)
    }
    if (!o.gatewayUrl) {
      stack = await startBenchStack(
        {
          shards: o.shards,
          services,
          keep: o.keep,
          log,
          ...(nofile ? { gatewayNofile: nofile } : {}),
        },
        cleanup,
      )
    } else if (o.ceilings) {
      // Against a running system the JetStream ceiling still needs our own NATS connection.
      stack = await startBenchStack({ shards: 1, services: [], keep: o.keep, log }, cleanup)
    }
    const httpUrl = o.gatewayUrl ?? stack?.gatewayUrl ?? ''
    const pool = new WorkerPool(o.workers, cleanup)
    const svcPid = (n: ServiceName) => () => {
      const pid = stack?.services[n]?.pid
      return pid ? [pid] : []
    }
    const components: Component[] = [
      ...services.filter((s) => stack?.services[s]).map((s) => ({ name: s, pids: svcPid(s) })),
      { name: 'nats-server (shared)', pids: () => pidsByName('nats-server') },
      { name: 'postgres (shared)', pids: () => pidsByName('postgres', 'postmaster') },
      { name: `load generator (${o.workers} procs)`, pids: () => pool.pids() },
      { name: 'benchmark coordinator', pids: () => [process.pid] },
    ]
    const sampler = new ProcSampler(components)
    const runTag = (stack?.ns ?? newBenchNamespace()).slice(1)
    const ctx: RunContext = {
      o,
      cleanup,
      log,
      pool,
      bar,
      sampler,
      ...(stack ? { stack } : {}),
      httpUrl,
      wsUrl: `${httpUrl.replace(/^http/, 'ws')}/v1/ws`,
      runTag,
      notes: [],
    }
    if (o.gatewayUrl)
      ctx.notes.push(`targeted a running gateway at ${o.gatewayUrl}: its CPU and memory are not sampled`)
    const ceilings = o.ceilings ? await measureCeilings(ctx, stack, cleanup) : {}
    const metricsUrl =
      o.projectorMetricsUrl ??
      (stack?.services.projector ? `http://127.0.0.1:${stack.services.projector.opsPort}/metrics` : undefined)
    const lag = metricsUrl ? new LagProbe(metricsUrl) : undefined
    sampler.start()
    lag?.start()
    const t0 = performance.now()
    const phases = await scenarioPhases(ctx)
    const usage = sampler.stop()
    const lagResult = lag?.stop()
    if (metricsUrl && !lagResult)
      ctx.notes.push('the projector exposed no projector_lag_* metric: projection lag not measured')
    ctx.notes.push('the machine may be shared with other work during this run; see machine.loadAvgStart')
    const result: RunResult = {
      id: `${startedAt.toISOString().replace(/[:.]/g, '-')}-${o.scenario}`,
      scenario: o.scenario,
      startedAt: startedAt.toISOString(),
      durationS: Math.round((performance.now() - t0) / 100) / 10,
      machine,
      commit: gitCommit(repoRoot),
      parameters: { ...o },
      phases,
      ceilings,
      usage,
      projectionLag: lagResult ?? [],
      notes: ctx.notes,
      failures: failuresOf(phases),
    }
    const dir = o.out.startsWith('/') ? o.out : join(repoRoot, o.out)
    mkdirSync(dir, { recursive: true })
    const jsonPath = join(dir, `${result.id}.json`)
    const htmlPath = join(dir, `${result.id}.html`)
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`)
    writeFileSync(htmlPath, renderHtml(result))
    process.stdout.write(`\n${renderTable(result)}\n\nreport: ${htmlPath}\nresults: ${jsonPath}\n`)
    return result.failures.length === 0 ? 0 : 1
  } catch (e) {
    bar.stop()
    log(`run failed: ${e instanceof Error ? e.message : String(e)}`)
    return 2
  } finally {
    await cleanup.run(log)
    clearTimeout(bound)
  }
}
