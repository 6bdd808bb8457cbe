import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestNamespace } from '@chatapp/infra'
import t, { type Test } from 'tap'
import { AuthApi } from '../../src/auth-api.js'
import { connect } from '../../src/chat-client.js'
import { MemoryCursorStore } from '../../src/cursor-store.js'
import { tokenSession } from '../../src/token-session.js'
import type { ChatClientOptions, EventFrame } from '../../src/types.js'
import { waitFor } from '../fixtures/fake-gateway.js'
import { startServiceProcess } from '../fixtures/service-process.js'

/**
 * The whole path an app takes, against the system as it is deployed: a projector and two gateway
 * processes on one namespace (as behind a load balancer), accounts through the HTTP API, chat
 * over WebSockets.
 */
// Two processes, argon2 for every account: more than tap's default 30 s per file.
t.setTimeout(180_000)
const tn = await createTestNamespace()
t.teardown(tn.cleanup)
const keyDir = mkdtempSync(join(tmpdir(), 'chatapp-client-'))
t.teardown(() => rmSync(keyDir, { recursive: true, force: true }))
// Both sign and verify with one key (the first creates the file, the second reads it).
// Every account here registers from 127.0.0.1: lift the per-address auth rate limit.
const env = {
  ...tn.env,
  JWT_PRIVATE_KEY_FILE: join(keyDir, 'jwt.pem'),
  PUSH_VAPID_KEY_FILE: join(keyDir, 'vapid.pem'),
  AUTH_RATE_PER_MINUTE: '6000',
  AUTH_RATE_BURST: '100',
}
// The projector too: its message view is where a gateway checks a late retried send.
const projector = await startServiceProcess('projector', env)
t.teardown(() => projector.stop())
const g1 = await startServiceProcess('gateway', env)
t.teardown(() => g1.stop())
const g2 = await startServiceProcess('gateway', env)
t.teardown(() => g2.stop())

const api = new AuthApi(g1.httpUrl)
const password = 'plum-kettle-harbour-71'

/** Registers and logs a user in, and connects a client to `urls`. */
const account = async (t: Test, username: string, urls: string[], opts: Partial<ChatClientOptions> = {}) => {
  const profile = await api.register({ username, password, displayName: username })
  const pair = await api.login({ username, password, deviceId: 'laptop' })
  t.equal(pair.userId, profile.userId)
  const session = tokenSession(api, pair)
  const open = (more: Partial<ChatClientOptions> = {}, on = urls) => {
    const events: EventFrame[] = []
    const client = connect(on, {
      deviceId: pair.deviceId,
      pingIntervalMs: 0,
      receiptDelayMs: 20,
      backoff: { baseMs: 20, maxMs: 200 },
      tokenProvider: session.tokenProvider,
      ...opts,
      ...more,
    })
    client.on('event', (f) => events.push(f))
    t.teardown(() => client.close())
    return { client, events }
  }
  return { ...open(), open, session, userId: profile.userId }
}

const texts = (events: EventFrame[], conv: string) =>
  events.flatMap((e) =>
    e.conversationId === conv && e.event.type === 'message.sent' ? [e.event.data.text ?? ''] : [],
  )

t.test('register, log in, look up and chat; receipts reach the sender', async (t) => {
  const alice = await account(t, 'alice_e2e', [g1.wsUrl])
  const bob = await account(t, 'bob_e2e', [g1.wsUrl])
  await Promise.all([alice.client.ready(), bob.client.ready()])

  await t.rejects(api.register({ username: 'bob_e2e', password, displayName: 'x' }), {
    code: 'USERNAME_TAKEN',
  })
  await t.rejects(api.login({ username: 'bob_e2e', password: 'wrong-password-00' }), {
    code: 'INVALID_CREDENTIALS',
  })

  const found = await api.userByUsername(alice.session.current().accessToken, 'bob_e2e')
  t.equal(found.userId, bob.userId)
  const { conversationId } = await alice.client.openDirect(found.userId)
  const dm = conversationId!
  const sent = await alice.client.send(dm, { text: 'hello from a process' })
  t.equal(sent.n, 1)
  await waitFor('bob receives it', () => texts(bob.events, dm).includes('hello from a process'), 10_000)
  bob.client.markRead(dm, sent.seq)
  await waitFor(
    'alice sees it read',
    () => alice.events.some((e) => e.event.type === 'receipt.read' && e.event.data.upTo === sent.seq),
    10_000,
  )

  // The token session refreshes on demand (as after a 4401); the old refresh token is spent.
  const old = bob.session.current().refreshToken
  t.not(await bob.session.tokenProvider({ forceRefresh: true }), '')
  t.not(bob.session.current().refreshToken, old, 'rotated')
  await t.rejects(api.refresh(old), { code: 'INVALID_REFRESH_TOKEN' })
  await api.logout(alice.session.current().refreshToken)
})

t.test('two terminal chats (chatapp-chat) talk to each other', async (t) => {
  const CLI = fileURLToPath(new URL('../../dist/chat-cli.js', import.meta.url))
  const cli = (user: string, to: string) => {
    const args = ['--url', g1.httpUrl, '--user', user, '--password', password, '--register', '--to', to]
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out = { stdout: '', stderr: '' }
    p.stdout.on('data', (d) => {
      out.stdout += d
    })
    p.stderr.on('data', (d) => {
      out.stderr += d
    })
    const exited = new Promise((resolve) => p.once('exit', resolve))
    t.teardown(async () => {
      if (p.exitCode === null) p.kill()
      await exited
    })
    return { p, out, exited }
  }
  const carol = cli('carol_cli', 'dave_cli') // starts first: waits for dave to register
  const dave = cli('dave_cli', 'carol_cli')
  const chatting = (o: { stderr: string }) => o.stderr.includes('chatting with')
  await waitFor('both chatting', () => chatting(carol.out) && chatting(dave.out), 30_000)
  carol.p.stdin.end('hello dave\n')
  await waitFor('dave reads it', () => dave.out.stdout.includes('[carol_cli] hello dave'), 15_000)
  await carol.exited
  t.match(carol.out.stderr, /✓ #1/, 'carol saw it stored')
  dave.p.stdin.write('are you there?\n')
  await waitFor('dave stored a reply while carol was away', () => /✓ #2/.test(dave.out.stderr), 15_000)
  dave.p.stdin.end()
  await dave.exited
  // Back from offline: what was missed is printed, with her own side of the conversation.
  const again = cli('carol_cli', 'dave_cli')
  await waitFor(
    'carol sees what she missed',
    () => again.out.stdout.includes('[dave_cli] are you there?'),
    30_000,
  )
  t.match(
    again.out.stdout,
    /\[you\] hello dave\n\[dave_cli\] are you there\?/,
    'in order, her own line first',
  )
  again.p.stdin.end()
  await again.exited
})

t.test('across two gateways: live chat, a retried send stored once, catch-up from cursors', async (t) => {
  const alice = await account(t, 'alice_two', [g1.wsUrl])
  const bobStore = new MemoryCursorStore()
  const bob = await account(t, 'bob_two', [g2.wsUrl], { autoDeliver: true, cursorStore: bobStore })
  await Promise.all([alice.client.ready(), bob.client.ready()])
  const { conversationId } = await alice.client.openDirect(bob.userId)
  const dm = conversationId!
  t.equal((await bob.client.openDirect(alice.userId)).conversationId, dm, 'both sides get the same one')

  const sent = await alice.client.send(dm, { text: 'hi bob' })
  await waitFor('bob gets it on the other gateway', () => texts(bob.events, dm).includes('hi bob'), 10_000)
  await waitFor(
    'his client reports it delivered on its own',
    () => alice.events.some((e) => e.event.type === 'receipt.delivered' && e.event.data.upTo === sent.seq),
    10_000,
  )
  const again = await alice.client.send(dm, { text: 'hi bob' }, { clientMsgId: sent.clientMsgId })
  t.match(again, { seq: sent.seq, n: 1, duplicate: true }, 'a retried send returns the original')

  await bob.client.close()
  t.ok(bobStore.cursors.get(dm), 'bob kept a cursor')
  for (const text of ['one', 'two', 'three']) await alice.client.send(dm, { text })
  const back = bob.open({ cursorStore: bobStore }, [g1.wsUrl])
  await back.client.ready()
  await waitFor('bob catches up', () => texts(back.events, dm).length === 3, 10_000)
  t.same(texts(back.events, dm), ['one', 'two', 'three'], 'exactly what he missed, in order, once')
  await alice.client.send(dm, { text: 'welcome back' })
  await waitFor('live after the sync', () => texts(back.events, dm).includes('welcome back'), 10_000)
  t.equal(back.client.stats.gaps, 0)
})

// Last: it kills g1.
t.test(
  'a gateway killed mid-conversation: its client moves to the other one and loses nothing',
  async (t) => {
    const alice = await account(t, 'alice_kill', [g1.wsUrl, g2.wsUrl])
    const bob = await account(t, 'bob_kill', [g2.wsUrl])
    await Promise.all([alice.client.ready(), bob.client.ready()])
    const dm = (await alice.client.openDirect(bob.userId)).conversationId!

    // Twenty sends in flight; the gateway process dies (SIGKILL) after the first is acknowledged.
    const wanted = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`)
    const sends = wanted.map((text) => alice.client.send(dm, { text }))
    await sends[0]
    await g1.stop('SIGKILL')
    const settled = await Promise.allSettled(sends)
    for (const p of g2.problems) t.comment(p)
    const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    t.same(
      settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])),
      [],
      'no send failed',
    )
    t.equal(alice.client.url, g2.wsUrl, 'alice moved to the other gateway')
    t.comment(`${results.filter((r) => r.duplicate).length} resends were answered as duplicates`)
    t.same(
      results.map((r) => r.n),
      wanted.map((_, i) => i + 1),
      'every send stored once, in the order it was made',
    )
    await waitFor('bob has all twenty', () => texts(bob.events, dm).length >= 20, 15_000)
    t.same(texts(bob.events, dm), wanted, 'bob got each message once, in order')
  },
)
