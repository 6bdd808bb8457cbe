#!/usr/bin/env node
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { AuthApi } from './auth-api.js'
import { connect } from './chat-client.js'
import { isChatClientError } from './errors.js'
import { tokenSession } from './token-session.js'
import type { EventFrame } from './types.js'

/**
 * A terminal chat over the client library, to try a running gateway by hand:
 *
 *   node client/dist/chat-cli.js --user alice --password 'correct horse battery' --register --to bob
 *
 * Lines typed are sent to the peer; what arrives is printed, with ✓ stored, ✓✓ delivered, read.
 */
export interface ChatCliOptions {
  url: string
  user: string
  password: string
  register: boolean
  to: string
  device: string
}

const USAGE =
  'usage: chatapp-chat --user NAME --password PW --to PEER [--register] [--url http://127.0.0.1:8080] [--device cli]'

/** Pure: argv → options or a message saying what is wrong. */
export const parseChatArgs = (
  argv: string[],
): { ok: true; value: ChatCliOptions } | { ok: false; error: string } => {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8080' },
        user: { type: 'string' },
        password: { type: 'string' },
        register: { type: 'boolean', default: false },
        to: { type: 'string' },
        device: { type: 'string', default: 'cli' },
      },
    }).values
  } catch (err) {
    return { ok: false, error: `${(err as Error).message}\n${USAGE}` }
  }
  const { url, user, password, register, to, device } = values
  if (typeof user !== 'string' || typeof password !== 'string' || typeof to !== 'string') {
    return { ok: false, error: USAGE }
  }
  return {
    ok: true,
    value: { url: String(url), user, password, register: register === true, to, device: String(device) },
  }
}

/** The WebSocket URL of a gateway, from its HTTP origin. */
export const wsUrlOf = (httpUrl: string): string =>
  `${httpUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/v1/ws`

/** Waits for the peer to register (the two sides of a demo start in either order). */
const lookUp = async (api: AuthApi, token: string, username: string) => {
  for (let waited = 0; ; waited += 2000) {
    try {
      return await api.userByUsername(token, username)
    } catch (err) {
      if (!(isChatClientError(err) && err.code === 'USER_NOT_FOUND') || waited >= 300_000) throw err
      if (waited === 0) console.error(`· waiting for ${username} to register`)
      await new Promise((r) => setTimeout(r, 2000))
    }
  }
}

const run = async (o: ChatCliOptions): Promise<void> => {
  const api = new AuthApi(o.url)
  if (o.register) {
    await api
      .register({ username: o.user, password: o.password, displayName: o.user })
      .catch((err: unknown) => {
        if (!(isChatClientError(err) && err.code === 'USERNAME_TAKEN')) throw err
      })
  }
  const pair = await api.login({ username: o.user, password: o.password, deviceId: o.device })
  const peer = await lookUp(api, pair.accessToken, o.to)
  const client = connect(wsUrlOf(o.url), {
    deviceId: pair.deviceId,
    autoDeliver: true,
    tokenProvider: tokenSession(api, pair).tokenProvider,
  })
  client.on('state', (s) => console.error(`· ${s}`))
  client.on('error', (e) => console.error(`! ${e.code}: ${e.message}`))
  // Sync replays what was missed before the conversation id is known (it comes from
  // `direct.open` after `ready`), so events are listened for from the start and held until then.
  let conv: string | undefined
  const held: EventFrame[] = []
  const show = ({ conversationId: c, seq, event }: EventFrame, replayed: boolean) => {
    if (c !== conv) return
    switch (event.type) {
      case 'message.sent':
        if (event.actor === peer.userId) {
          console.log(`[${o.to}] ${event.data.text ?? `(${event.data.kind})`}`)
          client.markRead(c, seq)
        } else if (replayed) {
          console.log(`[you] ${event.data.text ?? `(${event.data.kind})`}`)
        }
        break
      case 'receipt.delivered':
      case 'receipt.read':
        if (event.actor === peer.userId && !replayed)
          console.error(`  ${event.type === 'receipt.read' ? 'read' : '✓✓'} ≤ ${event.data.upTo}`)
        break
      default:
    }
  }
  client.on('event', (frame) => {
    if (conv === undefined) held.push(frame)
    else show(frame, false)
  })
  await client.ready(30_000)
  const { conversationId } = await client.openDirect(peer.userId)
  conv = conversationId!
  for (const frame of held.splice(0)) show(frame, true)
  console.error(`· chatting with ${o.to} in ${conv}; type a line to send, Ctrl-D to quit`)
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.trim() === '') return
    client.send(conv, { text: line }).then(
      (r) => console.error(`  ✓ #${r.n}`),
      (e: unknown) => console.error(`! not sent: ${isChatClientError(e) ? e.code : String(e)}`),
    )
  })
  rl.on('close', async () => {
    // Piped input ends at once: let what was typed be stored (bounded) before leaving.
    const until = Date.now() + 10_000
    while (client.pending > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    await client.close()
  })
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href
if (isMain) {
  const parsed = parseChatArgs(process.argv.slice(2))
  if (!parsed.ok) {
    console.error(parsed.error)
    process.exit(2)
  }
  run(parsed.value).catch((err: unknown) => {
    console.error(isChatClientError(err) ? `${err.code}: ${err.message}` : err)
    process.exit(1)
  })
}
