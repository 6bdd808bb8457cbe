import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { AuthApi } from '../../src/auth-api.js'
import { connect } from '../../src/chat-client.js'
import { tokenSession } from '../../src/token-session.js'
import type { EventFrame } from '../../src/types.js'
import { waitFor } from '../fixtures/fake-gateway.js'

/**
 * The whole path an app takes, against the gateway as it is deployed: its own process
 * (`gateway/dist/main.js`), accounts through the HTTP API, then chat over the WebSocket.
 */
const MAIN = fileURLToPath(new URL('../../../gateway/dist/main.js', import.meta.url))

const startGatewayProcess = async (
  env: Record<string, string>,
): Promise<{ port: number; child: ChildProcess }> => {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${lines.join('\n')}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${lines.join('\n')}`)))
    createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l))
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l)
      try {
        const rec = JSON.parse(l) as { msg?: string; port?: number }
        if (rec.msg === 'gateway started' && typeof rec.port === 'number') {
          clearTimeout(timer)
          resolve(rec.port)
        }
      } catch {
        // not a log record
      }
    })
  })
  return { port, child }
}

// One gateway process (and namespace) for the file.
const tn = await createTestNamespace()
t.teardown(tn.cleanup)
const keyDir = mkdtempSync(join(tmpdir(), 'chatapp-client-'))
t.teardown(() => rmSync(keyDir, { recursive: true, force: true }))
const { port, child } = await startGatewayProcess({
  ...tn.env,
  GATEWAY_PORT: '0',
  GATEWAY_OPS_PORT: '0',
  JWT_PRIVATE_KEY_FILE: join(keyDir, 'jwt.pem'),
  LOG_LEVEL: 'info',
})
t.teardown(async () => {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
})

t.test('register, log in, look up and chat through a gateway process', async (t) => {
  const api = new AuthApi(`http://127.0.0.1:${port}`)
  const password = 'plum-kettle-harbour-71'
  const account = async (username: string) => {
    const profile = await api.register({ username, password, displayName: username })
    t.equal(profile.username, username)
    const pair = await api.login({ username, password, deviceId: 'laptop' })
    t.equal(pair.userId, profile.userId)
    const session = tokenSession(api, pair)
    const events: EventFrame[] = []
    const client = connect(`ws://127.0.0.1:${port}/v1/ws`, {
      deviceId: pair.deviceId,
      pingIntervalMs: 0,
      receiptDelayMs: 20,
      tokenProvider: session.tokenProvider,
    })
    client.on('event', (f) => events.push(f))
    t.teardown(() => client.close())
    return { client, events, session, pair: () => session.current() }
  }
  const alice = await account('alice_e2e')
  const bob = await account('bob_e2e')
  await Promise.all([alice.client.ready(), bob.client.ready()])

  await t.rejects(api.register({ username: 'bob_e2e', password, displayName: 'x' }), {
    code: 'USERNAME_TAKEN',
  })
  await t.rejects(api.login({ username: 'bob_e2e', password: 'wrong-password-00' }), {
    code: 'INVALID_CREDENTIALS',
  })

  const found = await api.userByUsername(alice.pair().accessToken, 'bob_e2e')
  t.equal(found.userId, bob.pair().userId)
  const { conversationId } = await alice.client.openDirect(found.userId)
  const dm = conversationId!
  const sent = await alice.client.send(dm, { text: 'hello from a process' })
  t.equal(sent.n, 1)
  await waitFor(
    'bob receives it',
    () => bob.events.some((e) => e.event.type === 'message.sent' && e.seq === sent.seq),
    10_000,
  )
  bob.client.markRead(dm, sent.seq)
  await waitFor(
    'alice sees it read',
    () => alice.events.some((e) => e.event.type === 'receipt.read' && e.event.data.upTo === sent.seq),
    10_000,
  )

  // The token session refreshes on demand (as after a 4401); the old refresh token is spent.
  const old = bob.pair().refreshToken
  t.not(await bob.session.tokenProvider({ forceRefresh: true }), '')
  t.not(bob.pair().refreshToken, old, 'rotated')
  await t.rejects(api.refresh(old), { code: 'INVALID_REFRESH_TOKEN' })
  await api.logout(alice.pair().refreshToken)
})

t.test('two terminal chats (chatapp-chat) talk to each other', async (t) => {
  const CLI = fileURLToPath(new URL('../../dist/chat-cli.js', import.meta.url))
  const cli = (user: string, to: string) => {
    const args = ['--url', `http://127.0.0.1:${port}`, '--user', user, '--password', 'plum-kettle-harbour-71']
    const p = spawn(process.execPath, [CLI, ...args, '--register', '--to', to], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
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
  dave.p.stdin.end()
  await dave.exited
})
