import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
// The gateway's package exposes no API yet (its mod.ts is empty), so this test reaches into its
// build output. It runs the real gateway in this process, over a real namespace of NATS streams.
import { createTokenService, generatePrivateKeyPem } from '../../../gateway/dist/accounts/token-service.js'
import { defaultGatewayConfig } from '../../../gateway/dist/config.js'
import { startGateway, WS_PATH } from '../../../gateway/dist/server.js'
import { type ChatClient, connect } from '../../src/chat-client.js'
import { MemoryCursorStore } from '../../src/cursor-store.js'
import type { ChatClientOptions, EventFrame } from '../../src/types.js'
import { waitFor } from '../fixtures/fake-gateway.js'

const ALICE = 'u_alice0001'
const BOB = 'u_bobby0001'

t.test('two users chat 1:1 through two real gateways with the client library', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const tokens = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 600 })
  const users = new Set([ALICE, BOB])
  const start = async () => {
    const gw = await startGateway(defaultGatewayConfig(tn.ns, tn.names.shards), {
      nc: tn.nc,
      log: createLogger('gateway-test', 'silent'),
      tokens,
      directory: { existing: async (ids) => new Set(ids.filter((u) => users.has(u))) },
    })
    t.teardown(() => gw.close())
    return `ws://127.0.0.1:${gw.port}${WS_PATH}`
  }
  const [url1, url2] = [await start(), await start()]

  const open = (url: string, userId: string, opts: Partial<ChatClientOptions> = {}) => {
    const events: EventFrame[] = []
    const client = connect(url, {
      deviceId: 'dev1',
      tokenProvider: async () => (await tokens.issue(userId, 'dev1', `s_${userId}`)).accessToken,
      pingIntervalMs: 0,
      receiptDelayMs: 20,
      ...opts,
    })
    client.on('event', (f) => events.push(f))
    t.teardown(() => client.close())
    return { client, events }
  }
  const texts = (events: EventFrame[], conv: string) =>
    events.flatMap((e) =>
      e.conversationId === conv && e.event.type === 'message.sent' ? [e.event.data.text] : [],
    )

  const alice = open(url1, ALICE)
  const bobStore = new MemoryCursorStore()
  const bob = open(url2, BOB, { autoDeliver: true, cursorStore: bobStore })
  await Promise.all([alice.client.ready(), bob.client.ready()])
  t.equal(alice.client.userId, ALICE)

  // open the direct conversation (from both sides: the same one) and send
  const { conversationId: dm } = await alice.client.openDirect(BOB)
  t.match(dm, /^d_/)
  t.equal((await bob.client.openDirect(ALICE)).conversationId, dm)
  const sent = await alice.client.send(dm!, { text: 'hi bob' })
  t.match(sent, { conversationId: dm, n: 1, duplicate: false })

  // bob receives it live, and his client reports it delivered on its own
  await waitFor('bob gets the message', () => texts(bob.events, dm!).includes('hi bob'), 10_000)
  const delivered = () =>
    alice.events.find((e) => e.event.type === 'receipt.delivered' && e.event.actor === BOB)
  await waitFor('alice sees it delivered', () => delivered() !== undefined, 10_000)
  t.match(delivered()?.event, { data: { upTo: sent.seq } })

  // bob reads it
  bob.client.markRead(dm!, sent.seq)
  await waitFor(
    'alice sees it read',
    () => alice.events.some((e) => e.event.type === 'receipt.read' && e.event.actor === BOB),
    10_000,
  )

  // a retried send (same clientMsgId) returns the original sequence and stores nothing new
  const again = await alice.client.send(dm!, { text: 'hi bob' }, { clientMsgId: sent.clientMsgId })
  t.match(again, { seq: sent.seq, n: 1, duplicate: true })

  // bob goes away; alice writes; bob comes back on the other gateway with his cursors
  await bob.client.close()
  t.ok(bobStore.cursors.get(dm!), 'bob kept a cursor')
  for (const text of ['one', 'two', 'three']) await alice.client.send(dm!, { text })
  const back = open(url1, BOB, { cursorStore: bobStore })
  await back.client.ready()
  await waitFor('bob catches up', () => texts(back.events, dm!).length === 3, 10_000)
  t.same(texts(back.events, dm!), ['one', 'two', 'three'], 'exactly what he missed, in order, once')
  t.equal(back.client.stats.gaps, 0)
  const seqs = back.events.filter((e) => e.conversationId === dm).map((e) => e.seq)
  t.same(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'in sequence order',
  )
  // and chat goes on live after the sync
  await alice.client.send(dm!, { text: 'welcome back' })
  await waitFor('live again', () => texts(back.events, dm!).includes('welcome back'), 10_000)
  const closing: ChatClient[] = [alice.client, back.client]
  await Promise.all(closing.map((c) => c.close()))
})

t.test(
  'a gateway killed mid-conversation: its client moves to the other one and loses nothing',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    const tokens = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 600 })
    const users = new Set([ALICE, BOB])
    const start = async () => {
      const gw = await startGateway(defaultGatewayConfig(tn.ns, tn.names.shards), {
        nc: tn.nc,
        log: createLogger('gateway-test', 'silent'),
        tokens,
        directory: { existing: async (ids) => new Set(ids.filter((u) => users.has(u))) },
      })
      let closed = false
      const close = async () => {
        if (closed) return
        closed = true
        await gw.close()
      }
      t.teardown(close)
      return { url: `ws://127.0.0.1:${gw.port}${WS_PATH}`, close }
    }
    const g1 = await start()
    const g2 = await start()
    const open = (urls: string[], userId: string) => {
      const events: EventFrame[] = []
      const client = connect(urls, {
        deviceId: 'dev1',
        tokenProvider: async () => (await tokens.issue(userId, 'dev1', `s_${userId}`)).accessToken,
        pingIntervalMs: 0,
        backoff: { baseMs: 20, maxMs: 200 },
      })
      client.on('event', (f) => events.push(f))
      t.teardown(() => client.close())
      return { client, events }
    }
    const alice = open([g1.url, g2.url], ALICE)
    const bob = open([g2.url], BOB)
    await Promise.all([alice.client.ready(), bob.client.ready()])
    const { conversationId } = await alice.client.openDirect(BOB)
    const dm = conversationId!

    // Twenty sends in flight; the gateway dies after the first is acknowledged.
    const wanted = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`)
    const sends = wanted.map((text) => alice.client.send(dm, { text }))
    await sends[0]
    await g1.close()
    const results = await Promise.all(sends)
    t.equal(alice.client.url, g2.url, 'alice moved to the other gateway')
    t.comment(`${results.filter((r) => r.duplicate).length} resends were answered as duplicates`)
    t.equal(new Set(results.map((r) => r.seq)).size, 20, 'every send stored, each at its own sequence')
    t.same(
      results.map((r) => r.n),
      wanted.map((_, i) => i + 1),
      'stored in the order they were made',
    )

    const got = () =>
      bob.events.flatMap((e) =>
        e.conversationId === dm && e.event.type === 'message.sent' ? [e.event.data.text] : [],
      )
    await waitFor('bob has all twenty', () => got().length >= 20, 10_000)
    t.same(got(), wanted, 'bob got each message once, in order')
  },
)
