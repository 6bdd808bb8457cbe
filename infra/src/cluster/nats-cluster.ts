import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectNats, createLogger, jetstreamManager } from '@chatapp/kit'
import { type JetStreamManager, StorageType } from '@nats-io/jetstream'
import { natsServerGoEnv } from '../nats-go-env.js'
import { freePort, waitFor } from '../probe.js'
import { readyz } from '../service-kinds.js'
import { repoRoot } from '../stack.js'
import type { ProcessDef, ProcessSet } from './process-set.js'
import { productionNatsServer } from './production-nats-server.js'

/** The committed production config of one node: every node of a local cluster runs it. */
export const PRODUCTION_NATS_CONFIG = join(repoRoot, 'infra/deploy/nats/cluster.conf')

export type Version = [number, number, number]

export const natsServerVersion = (bin: string): Version => {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' })
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out)
  if (!m) throw new Error(`cannot read the version of ${bin}: ${out.trim()}`)
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

/** Settings of the production config that an older nats-server does not know, with the first version that does. */
const NEWER_KEYS: { key: string; since: Version }[] = [{ key: 'sync_interval', since: [2, 10, 0] }]

const atLeast = (v: Version, min: Version) =>
  v[0] !== min[0] ? v[0] > min[0] : v[1] !== min[1] ? v[1] > min[1] : v[2] >= min[2]

/**
 * The production config as the local nats-server can run it: unchanged, except for settings the
 * server is too old to know (Debian 12 ships 2.9.10, which refuses `sync_interval`), which are
 * dropped and named so the caller can say so, and the cluster's name when one is given.
 */
export const localNatsConfig = (
  production: string,
  version: Version,
  without: string[] = [],
  clusterName?: string,
): { text: string; dropped: string[] } => {
  const dropped: string[] = []
  const has = (line: string, key: string) => new RegExp(`^\\s*${key}\\s*:`).test(line)
  const lines = production.split('\n').flatMap((line) => {
    const old =
      NEWER_KEYS.some((k) => has(line, k.key) && !atLeast(version, k.since)) ||
      without.some((key) => has(line, key))
    if (old) {
      dropped.push(line.trim())
      return []
    }
    return clusterName !== undefined && has(line, 'name') ? [line.replace(/:.*/, `: ${clusterName}`)] : [line]
  })
  return { text: lines.join('\n'), dropped }
}

/**
 * The name of a local cluster, one per store directory. Local clusters run side by side (test
 * files, a `make cluster`) on ports found free, and a node keeps dialling its routes for ever: a
 * node that dials a port another cluster's node has since bound joins that cluster if the two
 * share a name, and the merged clusters place nothing (a CI run timed out waiting for three
 * peers). nats-server closes a route between clusters of different names. Derived from the
 * directory, so a cluster restarted on its stores keeps its name.
 */
export const localClusterName = (dir: string): string =>
  `chatapp-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`

export interface NatsNode {
  name: string
  client: number
  cluster: number
  monitor: number
  storeDir: string
}

export const allocateNatsNodes = async (dir: string, count = 3): Promise<NatsNode[]> => {
  const nodes: NatsNode[] = []
  for (let i = 1; i <= count; i++)
    nodes.push({
      name: `nats-${i}`,
      client: await freePort(),
      cluster: await freePort(),
      monitor: await freePort(),
      storeDir: join(dir, `nats-${i}`),
    })
  return nodes
}

export const natsClusterUrl = (nodes: NatsNode[]): string =>
  nodes.map((n) => `nats://127.0.0.1:${n.client}`).join(',')

/** The production config's per-node variables (see its header) for one node on loopback. */
export const natsNodeEnv = (node: NatsNode, all: NatsNode[]): Record<string, string> => {
  const routes = all.filter((o) => o !== node).map((o) => `nats://127.0.0.1:${o.cluster}`)
  if (routes.length !== 2) throw new Error('the production config names exactly two routes: run three nodes')
  return {
    SERVER_NAME: node.name,
    CLIENT_HOST: '127.0.0.1',
    CLIENT_PORT: String(node.client),
    CLUSTER_PORT: String(node.cluster),
    MONITOR_PORT: String(node.monitor),
    STORE_DIR: node.storeDir,
    ROUTE_A: routes[0]!,
    ROUTE_B: routes[1]!,
  }
}

/** Writes the local config next to the nodes' stores; returns its path and what it left out. */
export const writeLocalNatsConfig = (
  bin: string,
  dir: string,
  without: string[] = [],
): { path: string; dropped: string[] } => {
  const { text, dropped } = localNatsConfig(
    readFileSync(PRODUCTION_NATS_CONFIG, 'utf8'),
    natsServerVersion(bin),
    without,
    localClusterName(dir),
  )
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'cluster.conf')
  writeFileSync(path, text)
  return { path, dropped }
}

export const natsNodeDefs = (bin: string, config: string, nodes: NatsNode[], logDir: string): ProcessDef[] =>
  nodes.map((node) => ({
    name: node.name,
    kind: 'nats',
    ports: { client: node.client, cluster: node.cluster, monitor: node.monitor },
    urls: {
      client: `nats://127.0.0.1:${node.client}`,
      monitor: `http://127.0.0.1:${node.monitor}`,
    },
    command: bin,
    args: ['-c', config],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...natsServerGoEnv(), ...natsNodeEnv(node, nodes) },
    logFile: join(logDir, `${node.name}.log`),
    // /healthz answers 200 once the node is up and its JetStream is current with the cluster.
    ready: () => readyz(node.monitor, '/healthz'),
    readyTimeoutMs: 60_000,
    graceMs: 15_000,
    logNoise: /Healthcheck failed/,
  }))

/** JetStream answers once the nodes have elected a meta leader. */
export const waitMetaLeader = (jsm: JetStreamManager, timeoutMs = 30_000): Promise<void> =>
  waitFor(
    'a JetStream meta leader',
    () =>
      jsm.getAccountInfo().then(
        () => true,
        () => false,
      ),
    timeoutMs,
  )

/**
 * JetStream answers once the nodes have elected a meta leader, and can place a three-replica
 * stream once that leader counts every node as a peer: on a loaded machine the second comes
 * seconds after the first, and provisioning in between fails with "no suitable peers for
 * placement" (seen in a test's cluster start). So the wait ends when a probe R3 stream can be
 * created (and it is deleted at once).
 */
export const waitJetStream = async (jsm: JetStreamManager, timeoutMs = 30_000): Promise<void> => {
  const end = Date.now() + timeoutMs
  await waitMetaLeader(jsm, timeoutMs)
  const name = `readyprobe${process.pid}${Date.now().toString(36)}`
  let last = ''
  await waitFor(
    'three JetStream peers (a probe R3 stream can be placed)',
    () =>
      jsm.streams.add({ name, subjects: [`${name}.x`], num_replicas: 3, storage: StorageType.Memory }).then(
        () => true,
        (err: Error) => {
          last = err.message
          return false
        },
      ),
    Math.max(1_000, end - Date.now()),
  ).catch((err: Error) => {
    // What the server last answered tells a slow election from a cluster that cannot place.
    throw new Error(`${err.message}; the last attempt: ${last}`)
  })
  await jsm.streams.delete(name).catch(() => {})
}

/**
 * The server name of the node that leads a stream's raft group, from the JetStream API. While the
 * group elects a new leader (after its leader died) there is none, or the dead one is still
 * named: wait, within the bound, for a leader `isUp` accepts.
 */
export const streamLeader = async (
  jsm: JetStreamManager,
  stream: string,
  isUp: (server: string) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<string> => {
  let leader: string | undefined
  await waitFor(
    `a leader of stream ${stream}`,
    async () => {
      leader = await jsm.streams.info(stream).then(
        (si) => si.cluster?.leader,
        () => undefined,
      )
      return leader !== undefined && leader !== '' && isUp(leader)
    },
    timeoutMs,
  )
  return leader!
}

/**
 * The JetStream meta leader (which node places streams and consumers), as the monitoring
 * endpoint `/jsz` of any live node reports it; waits, within the bound, for one that is up.
 */
export const metaLeader = async (
  monitorUrls: () => string[],
  isUp: (server: string) => boolean,
  timeoutMs = 30_000,
): Promise<string> => {
  let leader: string | undefined
  await waitFor(
    'a JetStream meta leader',
    async () => {
      for (const url of monitorUrls()) {
        const jsz = await fetch(`${url}/jsz`, { signal: AbortSignal.timeout(1000) })
          .then((r) => r.json() as Promise<{ meta_cluster?: { leader?: string } }>)
          .catch(() => undefined)
        leader = jsz?.meta_cluster?.leader
        if (leader && isUp(leader)) return true
      }
      return false
    },
    timeoutMs,
  )
  return leader!
}

/** What each node's /jsz says of the meta group: attached to a failed wait, so the next one is diagnosable. */
export const metaGroupReport = async (nodes: NatsNode[]): Promise<string> => {
  type Jsz = {
    meta_cluster?: {
      leader?: string
      cluster_size?: number
      replicas?: { name: string; current?: boolean; offline?: boolean; active?: number }[]
    }
  }
  const lines = await Promise.all(
    nodes.map(async (n) => {
      const jsz = await fetch(`http://127.0.0.1:${n.monitor}/jsz`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.json() as Promise<Jsz>)
        .catch((err: Error) => err)
      if (jsz instanceof Error) return `${n.name}: /jsz failed (${jsz.message})`
      const m = jsz.meta_cluster
      const peers = (m?.replicas ?? [])
        .map((r) => `${r.name}${r.current ? '' : ' not current'}${r.offline ? ' offline' : ''}`)
        .join(', ')
      return `${n.name}: leader ${m?.leader || 'none'}, size ${m?.cluster_size ?? '?'}, peers [${peers}]`
    }),
  )
  return lines.join('; ')
}

/**
 * Adds three nodes running the production config to `set`, starts them together (a node's
 * JetStream is healthy only once a quorum has formed) and resolves with the cluster's NATS_URL
 * once an R3 stream can be placed (waitJetStream).
 *
 * Twice (a CI run on 2026-12-05 and a make test on 2026-12-06), three fresh nodes that had routed
 * to each other and elected a meta leader then answered "no suitable peers for placement" for the
 * whole 30 s; started again, such clusters are ready in about a second, and 38 starts here (30
 * of them two at a time beside two busy cores) never showed it. So a cluster that cannot place within
 * `placeTimeoutMs` is stopped and started again on the same ports and stores (nothing is lost: a
 * restarted node rejoins its raft groups), after logging what each node's /jsz said; the third
 * failure is thrown with that report. A node that cannot start again there (its port taken while
 * it was down) sends the whole start back to the beginning, on other ports.
 */
export const startNatsNodes = async (
  set: ProcessSet,
  dir: string,
  logDir: string,
  log: (m: string) => void,
  o: {
    fsyncEveryAppend?: boolean
    placeTimeoutMs?: number
    /** Where each attempt's nodes listen (tests take a port first); default allocateNatsNodes. */
    allocate?: (dir: string) => Promise<NatsNode[]>
    /** Tests: each launch starts only the first `running` nodes (the restarts start all). */
    running?: number
  } = {},
): Promise<{ url: string; nodes: NatsNode[] }> => {
  for (let attempt = 1; ; attempt++) {
    const { url, nodes } = await launchNatsNodes(set, dir, logDir, log, o)
    try {
      await untilPlaceable(set, url, nodes, log, o.placeTimeoutMs)
      return { url, nodes }
    } catch (err) {
      // The restart is on the same ports, free since the nodes stopped: another process may have
      // bound one meanwhile. The stores stay; only the ports change (as in launchNatsNodes).
      if (!(err instanceof RestartFailed) || attempt >= 3) throw err
      log(`${err.message}; starting the nodes again on other ports`)
      await set.stopAll(['nats'])
      for (const node of nodes) set.remove(node.name)
    }
  }
}

/** A node of a cluster restarted by untilPlaceable did not start again (its port taken, often). */
export class RestartFailed extends Error {}

/**
 * The wait of startNatsNodes: placeable within the bound, or the nodes restarted (at most twice).
 * After a restart the wait is at least RESTARTED_WAIT_MS whatever the first bound: this process's
 * connection has to find a node again (nats.js waits two seconds between reconnects) before the
 * meta leader can answer it, and a first bound of 3 s (a test's) then failed on a loaded machine.
 */
export const untilPlaceable = async (
  set: ProcessSet,
  url: string,
  nodes: NatsNode[],
  log: (m: string) => void,
  placeTimeoutMs = 20_000,
): Promise<void> => {
  const nc = await connectNats(url, 'cluster-ready', createLogger('cluster', 'silent'))
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    for (let attempt = 1; ; attempt++) {
      try {
        return await waitJetStream(
          jsm,
          attempt === 1 ? placeTimeoutMs : Math.max(placeTimeoutMs, RESTARTED_WAIT_MS),
        )
      } catch (err) {
        const report = await metaGroupReport(nodes)
        if (attempt >= 3) throw new Error(`${(err as Error).message}; the meta group: ${report}`)
        log(
          `JetStream could not place an R3 stream (${(err as Error).message}; ${report}): restarting the nodes`,
        )
        await set.stopAll(['nats'])
        // Every start settles before the caller stops them all again.
        const starts = await Promise.allSettled(nodes.map((node) => set.start(node.name)))
        const failed = starts.find((r): r is PromiseRejectedResult => r.status === 'rejected')
        if (failed)
          throw new RestartFailed(
            `a restarted NATS node did not start (${(failed.reason as Error).message})`,
            {
              cause: failed.reason,
            },
          )
      }
    }
  } finally {
    await nc.close().catch(() => {})
  }
}

const RESTARTED_WAIT_MS = 15_000

/**
 * Starts the three nodes until they are healthy, on other ports if a port was taken meanwhile.
 * With `running` < 3 only the first nodes start (tests of a cluster missing a node); the others
 * are defined, on their ports, for the caller to start.
 */
export const launchNatsNodes = async (
  set: ProcessSet,
  dir: string,
  logDir: string,
  log: (m: string) => void,
  o: { fsyncEveryAppend?: boolean; allocate?: (dir: string) => Promise<NatsNode[]>; running?: number },
): Promise<{ url: string; nodes: NatsNode[] }> => {
  const bin = await productionNatsServer(log)
  // Three nodes on one machine share its disk: an fsync per append on each of them is what the
  // disk can do divided by three (about 125 appends/s on this project's VM; ADR 0112).
  const config = writeLocalNatsConfig(bin, dir, o.fsyncEveryAppend === false ? ['sync_interval'] : [])
  if (config.dropped.length > 0)
    log(`nats-server runs without these production settings: ${config.dropped.join('; ')}`)
  for (let attempt = 1; ; attempt++) {
    const nodes = await (o.allocate ?? allocateNatsNodes)(dir)
    for (const def of natsNodeDefs(bin, config.path, nodes, logDir)) set.add(def)
    try {
      await Promise.all(nodes.slice(0, o.running ?? nodes.length).map((node) => set.start(node.name)))
      return { url: natsClusterUrl(nodes), nodes }
    } catch (err) {
      // A port found free can be taken by another process before the node binds it (test files
      // run side by side: "bind: address already in use", seen in make test). Start again on new
      // ports; a node that fails for any other reason fails three times. The stores stay: a
      // node's raft state names its peers, not their ports, and `make cluster` keeps its data
      // there across restarts (they used to be emptied here, losing that data).
      await set.stopAll(['nats'])
      for (const node of nodes) set.remove(node.name)
      if (attempt >= 3) throw err
      log(`a NATS node did not start (${(err as Error).message}); starting the nodes again on other ports`)
    }
  }
}
