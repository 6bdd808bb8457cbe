import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { WS_PATH } from '@chatapp/client'
import { repoRoot } from '@chatapp/infra'
import { measureCompute } from '../ceilings/compute-ceiling.js'
import { measureJetStream } from '../ceilings/jetstream-ceiling.js'
import { measureWakeups } from '../ceilings/wakeup-ceiling.js'
import { measureWsEcho, startEchoServer } from '../ceilings/ws-echo-ceiling.js'
import type { Options } from '../core/options.js'
import { type Ceilings, failuresOf, type PhaseResult, type RunResult } from '../core/result.js'
import { WorkerPool } from '../load/pool.js'
import { renderHtml } from '../report/html.js'
import { ProgressBar } from '../report/progress-bar.js'
import { renderTable } from '../report/table.js'
import { type BenchStack, newBenchNamespace, startBenchStack } from '../system/bench-stack.js'
import { Cleanup } from '../system/cleanup.js'
import { CostMeter } from '../system/cost-meter.js'
import { gatewayNofile, hardFileLimit } from '../system/fd-limit.js'
import { LagProbe } from '../system/lag-probe.js'
import { gitCommit, machineInfo } from '../system/machine.js'
import { NatsProbe } from '../system/nats-probe.js'
import { type NatsServer, sharedNats, startPrivateNats } from '../system/nats-server.js'
import { PgBackends } from '../system/pg-backends.js'
import { type Component, ProcSampler, pidsByName } from '../system/proc-sampler.js'
import type { ServiceName } from '../system/services.js'
import { runDirect, runGroup, runRamp, runReconnect } from './chat-scenarios.js'
import { runConnections } from './connections.js'
import type { RunContext } from './context.js'
import { runMedia } from './media.js'
import { runReconnectStorm } from './reconnect-storm.js'

const QUICK_GROUP_RATE = 20
/** Round trips of the wake-up probe: about 1.3 s at one per millisecond. */
const WAKEUP_MESSAGES = 1000
/** Events the compute price is measured over (about 0.2–0.5 s of one core). */
const COMPUTE_EVENTS = 50_000

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`)

const servicesFor = (o: Options): ServiceName[] => {
  switch (o.scenario) {
    case 'ceilings':
      return []
    case 'connections':
      // The step starts a fresh gateway of its own (its memory per connection is the figure).
      return []
    case 'media':
      return ['gateway', 'projector', 'media-worker']
    case 'reconnect':
      // The storm seeds the log first, then starts the projector (seeding is measured alone).
      return o.storm ? ['gateway'] : ['gateway', 'projector']
    case 'quick':
    case 'direct':
    case 'ramp':
    case 'group':
      // The push worker as deployed: every message is push work (ADR 0190, 0193), whether or
      // not its recipients have targets (the benchmark's users have none).
      return ['gateway', 'projector', 'push-worker']
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
      return o.storm ? runReconnectStorm(ctx) : runReconnect(ctx)
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
  // Outside the try: a failed run prints what its services logged last (LOG_LEVEL warn).
  let stack: BenchStack | undefined
  try {
    const services = servicesFor(o)
    // Raised for the gateway only, and never above our own hard limit (raising the hard limit
    // needs CAP_SYS_RESOURCE, which containers rarely grant).
    const wanted =
      o.scenario === 'connections' ? o.connections : o.scenario === 'reconnect' && o.storm ? o.sessions : 0
    const nofile = o.scenario === 'reconnect' && o.storm ? gatewayNofile(wanted) : undefined
    if (wanted + 256 > gatewayNofile(wanted))
      log(
        `the file-descriptor hard limit is ${hardFileLimit()}: a gateway cannot hold ${wanted} connections (raise it with ulimit -Hn as root)`,
      )
    const pool = new WorkerPool(
      o.workers,
      cleanup,
      o.profileDir ? { dir: o.profileDir, kind: o.profileKind } : undefined,
      o.stallDir,
    )
    // Server processes (what "server CPU per message" adds up) and the rest, for comparison.
    const components: Component[] = [
      { name: `load generator (${o.workers} procs)`, pids: () => pool.pids() },
      { name: 'benchmark coordinator', pids: () => [process.pid] },
    ]
    const sampler = new ProcSampler(components)
    let pg: PgBackends | undefined
    let nats: NatsServer | undefined
    if (!o.gatewayUrl || o.ceilings) {
      // A running system (--gateway-url) has its own server: the ceiling then uses the stack's.
      nats = o.sharedNats || o.gatewayUrl ? undefined : await startPrivateNats(cleanup, log, o.natsProcs)
      stack = await startBenchStack(
        {
          shards: o.gatewayUrl ? 1 : o.shards,
          services: o.gatewayUrl ? [] : services,
          keep: o.keep,
          log,
          ...(nofile ? { gatewayNofile: nofile } : {}),
          ...(nats ? { nats } : {}),
          ...(o.stallDir ? { stallDir: o.stallDir } : {}),
          onStart: (label, svc) => {
            sampler.add({ name: label, pids: () => [svc.pid], server: true, withChildren: true })
            sampler.add({ name: `PostgreSQL (${label})`, pids: () => pg?.pids(label) ?? [], server: true })
          },
        },
        cleanup,
      )
      nats ??= sharedNats(stack.stack.natsUrl)
      const prefix = stack.pgAppPrefix
      pg = new PgBackends(stack.stack.databaseUrl, prefix)
      await pg.start()
      cleanup.add('PostgreSQL probe', () => pg!.stop())
    }
    const natsServer = nats
    if (natsServer)
      sampler.add({
        name: natsServer.private ? 'nats-server' : 'nats-server (shared)',
        pids: () => (natsServer.pid() > 0 ? [natsServer.pid()] : []),
        server: true,
        waitAllThreads: true,
      })
    // Every postgres process of the machine: the walwriter and checkpointer work for this run
    // too, and on a shared server for everyone else; shown for reference, not in the total.
    sampler.add({ name: 'postgres (all processes)', pids: () => pidsByName('postgres', 'postmaster') })
    const notes: string[] = []
    const httpUrl = o.gatewayUrl ?? stack?.gatewayUrl ?? ''
    const wsOf = (http: string) => `${http.replace(/^http/, 'ws')}${WS_PATH}`
    const wsUrls = [wsOf(httpUrl)]
    // More gateways on the same NATS and database, as a load balancer would spread the clients.
    if (stack && !o.gatewayUrl)
      for (let i = 2; i <= o.gateways; i++) {
        const gw = await stack.startExtra('gateway', `gateway-${i}`)
        wsUrls.push(wsOf(`http://127.0.0.1:${gw.port}`))
      }
    if (o.gateways > 1 && o.gatewayUrl) notes.push('--gateways is ignored with --gateway-url')
    const runTag = (stack?.ns ?? newBenchNamespace()).slice(1)
    const probe = stack && natsServer ? new NatsProbe(stack.nc, stack.ns, natsServer) : undefined
    const ctx: RunContext = {
      o,
      cleanup,
      log,
      pool,
      bar,
      sampler,
      cost: new CostMeter(sampler, (n) => sampler.isServer(n), probe, pg),
      ...(natsServer ? { nats: natsServer } : {}),
      ...(stack ? { stack } : {}),
      httpUrl,
      wsUrls,
      runTag,
      notes,
    }
    if (o.gatewayUrl)
      ctx.notes.push(`targeted a running gateway at ${o.gatewayUrl}: its CPU and memory are not sampled`)
    // Scenarios that measure memory take their ceilings afterwards: the JetStream ceiling fills
    // and deletes a stream, and the nats-server gives that memory back slowly, which would move
    // the baselines they read.
    const memoryScenario = o.scenario === 'connections' || (o.scenario === 'reconnect' && o.storm)
    let ceilings: Ceilings = o.ceilings && !memoryScenario ? await measureCeilings(ctx, stack, cleanup) : {}
    // Always, before any load: what a wake-up costs this machine is how its CPU figures read
    // (about two seconds; --no-ceilings skips the others).
    const wakeup = await measureWakeups({ messages: WAKEUP_MESSAGES, gapMs: 1 }).catch((err: Error) => {
      // A figure to read the others by, not one the run is for: without it the run goes on.
      ctx.notes.push(`the price of a wake-up was not measured: ${err.message}`)
      return undefined
    })
    // And what a core does per event once awake: together they say how fast this box is today.
    const compute = await measureCompute({ events: COMPUTE_EVENTS }).catch((err: Error) => {
      ctx.notes.push(`the compute price was not measured: ${err.message}`)
      return undefined
    })
    const metricsUrl =
      o.projectorMetricsUrl ??
      (stack?.services.projector ? `http://127.0.0.1:${stack.services.projector.opsPort}/metrics` : undefined)
    const lag = metricsUrl ? new LagProbe(metricsUrl) : undefined
    sampler.start()
    lag?.start()
    const t0 = performance.now()
    const phases = await scenarioPhases(ctx)
    const usage = sampler.stop()
    if (o.ceilings && memoryScenario) ceilings = await measureCeilings(ctx, stack, cleanup)
    if (wakeup) ceilings = { ...ceilings, wakeup }
    if (compute) ceilings = { ...ceilings, compute }
    const lagResult = lag?.stop()
    if (metricsUrl && !lagResult)
      ctx.notes.push('the projector exposed no projector_lag_* metric: projection lag not measured')
    ctx.notes.push('the machine may be shared with other work during this run; see machine.loadAvgStart')
    const result: RunResult = {
      id: `${startedAt.toISOString().replace(/[:.]/g, '-')}-${o.scenario}`,
      scenario: o.scenario,
      startedAt: startedAt.toISOString(),
      durationS: Math.round((performance.now() - t0) / 100) / 10,
      machine: { ...machine, loadAvgEnd: loadavg()[0] ?? 0 },
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
    // A setup that timed out (a member never sent its group) leaves no trace in the report: the
    // services' own warnings and errors are the evidence of what the server saw.
    for (const [name, svc] of Object.entries(stack?.services ?? {}))
      if (svc && svc.tail.length > 0) log(`${name}, last lines:\n${svc.tail.join('\n')}`)
    return 2
  } finally {
    await cleanup.run(log)
    clearTimeout(bound)
  }
}
