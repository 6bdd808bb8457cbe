import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PushJob, PushTarget } from '@chatapp/contracts'
import { createTestNamespace, type TestNamespace } from '@chatapp/infra'
import { createConversationLog, createLogger } from '@chatapp/kit'
import { jetstreamManager } from '@nats-io/jetstream'
import type { Test } from 'tap'
import { createPresenceReader } from '../../src/feed/presence-query.js'
import { startGatewayProcess } from './gateway-process.js'
import { eventually, startProjectorProcess } from './projector.js'
import { startPushService } from './push-service.js'
import { startPushWorkerProcess } from './push-worker-process.js'
import { startWebhookReceiver } from './webhook-receiver.js'
import { isType, TestClient } from './ws-client.js'

export interface Device {
  userId: string
  deviceId: string
  token: string
  refreshToken: string
  // biome-ignore lint/suspicious/noExplicitAny: a response body, which the tests assert with t.match
  http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>
  /** A live socket of this device (synced). */
  connect(): Promise<TestClient>
}

/**
 * Everything push notifications take, as deployed: the projector (its reactor writes the push
 * jobs), a gateway process (accounts, targets, mutes, presence), the push worker process, and a
 * local Web Push service and webhook relay that check what they receive.
 */
export const startPushStack = async (t: Test, workerEnv: Record<string, string> = {}) => {
  const tn: TestNamespace = await createTestNamespace({ shards: 1 })
  t.teardown(tn.cleanup)
  const keys = await mkdtemp(join(tmpdir(), 'chatapp-vapid-'))
  t.teardown(() => rm(keys, { recursive: true, force: true }))
  let vapidPublicKey = ''
  const push = await startPushService(() => vapidPublicKey)
  t.teardown(push.close)
  const hooks = await startWebhookReceiver()
  t.teardown(hooks.close)
  const vapidEnv = {
    PUSH_VAPID_KEY_FILE: join(keys, 'vapid.pem'),
    PUSH_VAPID_SUBJECT: 'mailto:ops@example.com',
  }
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gw = await startGatewayProcess(tn, {
    ...vapidEnv,
    PUSH_WEBPUSH_ORIGINS: push.origin,
    PUSH_WEBHOOK_ORIGINS: hooks.origin,
    AUTH_RATE_PER_MINUTE: '6000',
    AUTH_RATE_BURST: '100',
  })
  t.teardown(() => gw.stop())
  const workerEnvAll = {
    ...vapidEnv,
    PUSH_COALESCE_MS: '400',
    PUSH_ACK_WAIT_MS: '2000',
    PUSH_RETRY_BASE_MS: '20',
    PUSH_RETRY_MAX_MS: '200',
    ...workerEnv,
  }
  let worker = await startPushWorkerProcess(tn, workerEnvAll)
  t.teardown(() => worker.kill())
  const jsm = await jetstreamManager(tn.nc)
  const { ranges } = await createConversationLog(tn.nc, tn.names)
  const presence = createPresenceReader(tn.nc, tn.names, ranges, createLogger('test', 'silent'))

  const call = async (token: string | undefined, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${gw.base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await r.text()
    return { status: r.status, body: text ? JSON.parse(text) : undefined }
  }
  const vapid = await call(undefined, 'GET', '/v1/push/vapid-public-key')
  if (vapid.status !== 401) throw new Error('the VAPID key route must need a token')

  const suffix = tn.ns.slice(-6)
  const registered = new Map<string, string>()
  /** Registers `name` (once) and logs in a device of theirs. */
  const device = async (name: string, deviceId: string): Promise<Device> => {
    const username = `${name}${suffix}`
    if (!registered.has(name)) {
      const r = await call(undefined, 'POST', '/v1/auth/register', {
        username,
        password: 'correct horse battery staple 42',
        displayName: `${name[0]!.toUpperCase()}${name.slice(1)}`,
      })
      if (r.status !== 201) throw new Error(`${name} not registered: ${r.status}`)
      registered.set(name, r.body.userId)
    }
    const login = await call(undefined, 'POST', '/v1/auth/login', {
      username,
      password: 'correct horse battery staple 42',
      deviceId,
    })
    if (login.status !== 200) throw new Error(`${name} not logged in: ${login.status}`)
    const token = login.body.accessToken as string
    if (!vapidPublicKey)
      vapidPublicKey = (await call(token, 'GET', '/v1/push/vapid-public-key')).body.publicKey
    return {
      userId: registered.get(name)!,
      deviceId,
      token,
      refreshToken: login.body.refreshToken,
      http: (method, path, body) => call(token, method, path, body),
      async connect() {
        const c = await TestClient.open(`ws://127.0.0.1:${gw.port}/v1/ws`, { token })
        t.teardown(() => c.close())
        await c.waitFor(isType('hello'))
        c.send({ type: 'sync', rid: 'sync' })
        await c.waitFor(isType('synced'))
        return c
      },
    }
  }

  return {
    tn,
    gw,
    push,
    hooks,
    get worker() {
      return worker
    },
    device,
    /** A Web Push subscription of the local service, registered for `d`. */
    async subscribe(d: Device) {
      const s = push.subscribe()
      const r = await d.http('POST', '/v1/push/targets', {
        kind: 'webpush',
        endpoint: s.endpoint,
        keys: s.keys,
      })
      if (r.status !== 201) throw new Error(`target not registered: ${r.status} ${JSON.stringify(r.body)}`)
      return { sub: s, target: r.body as PushTarget }
    },
    /** A webhook target of the local relay, registered for `d`; the relay trusts its secret. */
    async hook(d: Device, name: string) {
      const r = await d.http('POST', '/v1/push/targets', { kind: 'webhook', url: hooks.url(name) })
      if (r.status !== 201) throw new Error(`webhook not registered: ${r.status} ${JSON.stringify(r.body)}`)
      hooks.trust(name, r.body.secret)
      return r.body as PushTarget
    },
    /** Resolves once presence shows the device online (what the worker will read). */
    online: (d: Device) =>
      eventually(
        async () => (await presence.devicesOnline([d.userId])).get(d.userId)!.has(d.deviceId),
        10_000,
        `${d.deviceId} online`,
      ),
    /** Resolves once the worker took and settled every job of the queue (nothing pending, nothing held). */
    settled: (what: string) =>
      eventually(
        async () => {
          const [stream, c] = await Promise.all([
            jsm.streams.info(tn.names.pushJobStream),
            jsm.consumers.info(tn.names.pushJobStream, tn.names.pushWorkerConsumer),
          ])
          return stream.state.messages === 0 && c.num_ack_pending === 0 && c.num_pending === 0
        },
        15_000,
        what,
      ),
    /**
     * Whether the worker took every job written so far, and none of them was settled, and the
     * newest job holds `conversationId`'s event at `seq` (jobs are per projector batch, ADR 0193).
     */
    taken: async (conversationId: string, seq: number) => {
      const c = await jsm.consumers.info(tn.names.pushJobStream, tn.names.pushWorkerConsumer)
      if (c.num_pending !== 0 || c.num_ack_pending === 0) return false
      const last = await jsm.streams
        .getMessage(tn.names.pushJobStream, { last_by_subj: tn.names.pushJobSubject(conversationId) })
        .catch(() => null)
      const job = last?.json<PushJob>()
      return job?.items.some((i) => i.conversationId === conversationId && i.seq === seq) === true
    },
    async restartWorker(env: Record<string, string> = {}) {
      await worker.kill()
      worker = await startPushWorkerProcess(tn, { ...workerEnvAll, ...env })
    },
  }
}
