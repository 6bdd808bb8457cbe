import { jetstreamManager, type NatsConnection } from '@chatapp/kit'
import type { NatsState } from '../core/cost.js'
import type { NatsServer } from './nats-server.js'
import { readGoGc, readProc } from './proc-stat.js'

/** Whether a stream belongs to the run's namespace: its own streams and its KV buckets' (`KV_<bucket>`). */
export const inNamespace = (stream: string, ns: string): boolean =>
  stream.startsWith(`${ns}-`) || stream.startsWith(`KV_${ns}-`)

/**
 * What the nats-server holds, read between steps: its resident memory (/proc), the JetStream
 * consumers of the run's namespace (every stream of it, KV buckets included) and of the whole
 * server, and, when the monitoring port is known, its subscriptions and client connections.
 * A long-lived consumer per process is expected (projector shards, media worker, presence
 * watch); one per session or per read is the leak ADR 0081 removed, and this is where it shows.
 */
export class NatsProbe {
  constructor(
    private readonly nc: NatsConnection,
    private readonly ns: string,
    private readonly server: NatsServer,
  ) {}

  /** The server's GOGC, from its environment (ADR 0229), when its process is known here. */
  private goGc(): { goGc?: string } {
    const pid = this.server.pid()
    const v = pid > 0 ? readGoGc(pid) : undefined
    return v === undefined ? {} : { goGc: v }
  }

  rssBytes(): number {
    const pid = this.server.pid()
    return pid > 0 ? (readProc(pid)?.rssBytes ?? 0) : 0
  }

  /** Consumers of the namespace's streams. */
  async namespaceConsumers(): Promise<number> {
    const jsm = await jetstreamManager(this.nc)
    let n = 0
    for await (const si of jsm.streams.list())
      if (inNamespace(si.config.name, this.ns)) n += si.state.consumer_count
    return n
  }

  private async varz(path: 'varz' | 'jsz'): Promise<Record<string, unknown> | undefined> {
    if (!this.server.monitorUrl) return undefined
    try {
      const r = await fetch(`${this.server.monitorUrl}/${path}`, { signal: AbortSignal.timeout(3000) })
      return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Server-wide consumers: from the monitoring port's /jsz (every account) when there is one,
   * else the JetStream account's count (every user of a shared server without accounts shares it).
   */
  async serverConsumers(): Promise<{ count: number; scope: 'server' | 'account'; apiRequests?: number }> {
    const jsz = await this.varz('jsz')
    const api = (jsz?.api as { total?: unknown } | undefined)?.total
    if (typeof jsz?.consumers === 'number')
      return {
        count: jsz.consumers,
        scope: 'server',
        ...(typeof api === 'number' ? { apiRequests: api } : {}),
      }
    const jsm = await jetstreamManager(this.nc)
    return { count: (await jsm.getAccountInfo()).consumers, scope: 'account' }
  }

  async snapshot(): Promise<NatsState> {
    const [namespace, server, varz] = await Promise.all([
      this.namespaceConsumers(),
      this.serverConsumers(),
      this.varz('varz'),
    ])
    const num = (k: string, v: unknown) => (typeof v === 'number' ? { [k]: v } : {})
    return {
      rssBytes: this.rssBytes(),
      consumers: { namespace, server: server.count, serverScope: server.scope },
      ...num('subscriptions', varz?.subscriptions),
      ...num('connections', varz?.connections),
      ...num('inMsgs', varz?.in_msgs),
      ...num('apiRequests', server.apiRequests),
      ...num('goMaxProcs', varz?.gomaxprocs),
      ...this.goGc(),
    }
  }
}
