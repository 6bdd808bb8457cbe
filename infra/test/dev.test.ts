import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { names } from '@chatapp/contracts'
import { connectNats, createConversationLog, createLogger, withStackEnv } from '@chatapp/kit'
import t from 'tap'
import { isAlive } from '../src/daemon.js'
import { freePort, waitFor } from '../src/probe.js'
import { repoRoot, stackEnv } from '../src/stack.js'
import { newTestNamespaceName, removeNamespace, testStack } from '../src/test-support.js'
import { Socket, signUp } from './support/chat.js'

// `make dev` as a person runs it: started from a terminal, stopped with Ctrl-C. A terminal's
// Ctrl-C sends SIGINT to the whole foreground process group, so the stack runs in its own group
// here and the test signals the group, not just the stack's pid.
t.test(
  'Ctrl-C mid-load stops make dev: one SIGTERM per service, a full drain, nothing acknowledged lost, no process left',
  async (t) => {
    const stack = await testStack()
    const ns = newTestNamespaceName()
    const dataDir = mkdtempSync(join(tmpdir(), 'chatapp-dev-'))
    const [http, gwOps, projOps, mediaOps] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ]
    // As a person runs it: without the test runner's switch for the AWS SDK's Node 22 notice.
    const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...outside } = process.env
    const dev = spawn(process.execPath, [join(repoRoot, 'infra/dist/cli.js'), 'dev'], {
      env: {
        ...outside,
        ...stackEnv(stack),
        CHATAPP_NS: ns,
        CHATAPP_SHARDS: '2',
        CHATAPP_DATA_DIR: dataDir,
        GATEWAY_PORT: String(http),
        GATEWAY_OPS_PORT: String(gwOps),
        PROJECTOR_OPS_PORT: String(projOps),
        MEDIA_WORKER_OPS_PORT: String(mediaOps),
        LOG_LEVEL: 'info',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: string[] = []
    for (const s of [dev.stdout!, dev.stderr!]) createInterface({ input: s }).on('line', (l) => lines.push(l))
    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)))
    t.teardown(async () => {
      if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGKILL')
      const nc = await connectNats(stack.natsUrl, 'dev-test', createLogger('test', 'silent'))
      await removeNamespace(stack, ns, nc)
      await nc.close()
      rmSync(dataDir, { recursive: true, force: true })
    })
    await waitFor('the banner', async () => lines.some((l) => l.includes('Chatapp is running')), 90_000)

    // A command started elsewhere finds the running stack through its env file.
    const found = withStackEnv({ CHATAPP_DATA_DIR: dataDir })
    t.equal(found.CHATAPP_NS, ns, 'stack.env names the namespace that runs')
    t.equal(found.NATS_URL, stack.natsUrl)
    t.match(
      lines.join('\n'),
      /media-worker\s+http:\/\/127\.0\.0\.1:\d+\/metrics/,
      'the banner has a space after the name',
    )
    t.notMatch(lines.join('\n'), /NodeVersionSupportWarning/, 'no AWS SDK notice in the output')
    t.match(lines.join('\n'), `Open http://127.0.0.1:${http}/ in a browser`, 'the one URL to open')
    const page = await fetch(`http://127.0.0.1:${http}/`)
    t.equal(page.status, 200, 'the gateway serves the web app there')
    t.match(await page.text(), /<div id="app">/)

    const pids = lines.flatMap((l) => {
      const m = /(gateway|projector|media-worker) started \(pid (\d+)\)/.exec(l)
      return m ? [Number(m[2])] : []
    })
    t.equal(pids.length, 3, 'three services started')

    // Load: sends pipelined every few milliseconds until the gateway closes the socket.
    const base = `http://127.0.0.1:${http}`
    const alice = await signUp(base, `alice${ns.slice(-6)}`)
    const bob = await signUp(base, `bob${ns.slice(-6)}`)
    const a = await Socket.open(`ws://127.0.0.1:${http}/v1/ws`, alice.token)
    const conversationId = String(
      (await a.request({ type: 'direct.open', rid: 'o1', peerId: bob.userId })).conversationId,
    )
    let sends = 0
    const load = (async () => {
      while (a.closed === undefined) {
        a.send({
          type: 'send',
          rid: `s${sends}`,
          conversationId,
          clientMsgId: `cm_dev_load_${sends}`,
          kind: 'text',
          text: `m${sends}`,
        })
        sends++
        // Pacing, not synchronisation: a steady stream of sends for the signal to land in, under
        // the per-connection frame rate (CONN_FRAMES_PER_SECOND, 50).
        await new Promise((r) => setTimeout(r, 25))
      }
    })()
    const acked = () =>
      a.frames.filter((f) => f.type === 'sent') as unknown as {
        clientMsgId: string
        seq: number
        n: number
      }[]
    await waitFor('20 sends acknowledged', async () => acked().length >= 20, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; last frames ${JSON.stringify(a.frames.slice(-3))}`)
    })

    const stopAt = Date.now()
    process.kill(-dev.pid!, 'SIGINT')
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 40_000).unref()),
    ])
    t.equal(code, 0, 'the stack exits 0')
    t.ok(Date.now() - stopAt < 20_000, `drained within the bound (${Date.now() - stopAt} ms)`)
    await load
    t.equal(a.closed, 1001, 'the gateway closed the socket with 1001 (going away)')

    // Every send the gateway acknowledged is in the log, at the sequence and n it said.
    const nc = await connectNats(stack.natsUrl, 'dev-test-log', createLogger('test', 'silent'))
    try {
      const log = await createConversationLog(nc, names(ns, 2))
      const stored = new Map<string, { seq: number; n: number }>()
      for await (const e of log.read(conversationId, 0, await log.lastSeq(conversationId, 'm'), 'm'))
        if (e.event.type === 'message.sent')
          stored.set(e.event.data.clientMsgId, { seq: e.seq, n: e.event.data.n })
      const lost = acked().filter(
        (x) => stored.get(x.clientMsgId)?.seq !== x.seq || stored.get(x.clientMsgId)?.n !== x.n,
      )
      t.same(lost, [], `all ${acked().length} acknowledged of ${sends} sent are stored as acknowledged`)
    } finally {
      await nc.close()
    }
    const out = lines.join('\n')
    t.notMatch(out, /second signal/, 'no service was cut short by a second signal')
    t.equal(
      out.match(/shutting down \{"signal":"SIGTERM"\}/g)?.length,
      3,
      'each service got exactly one SIGTERM',
    )
    t.notMatch(out, /shutting down \{"signal":"SIGINT"\}/, "the terminal's SIGINT reached the stack only")
    t.equal(out.match(/\binfo\s+stopped\b/g)?.length, 3, 'each service finished its drain')
    t.same(pids.filter(isAlive), [], 'no service process is left')
    t.equal(withStackEnv({ CHATAPP_DATA_DIR: dataDir }).CHATAPP_NS, undefined, 'the namespace left stack.env')
  },
)
