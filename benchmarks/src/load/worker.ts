/**
 * A load worker: a separate process (child_process.fork) so the load generator's CPU is its own,
 * measurable and spread over cores. It receives one setup, then runs steps until told to close.
 */
import { ChatLoad } from './chat-load.js'
import { runEcho } from './echo-load.js'
import { IdleLoad } from './idle-load.js'
import { runMediaLoad } from './media-load.js'
import type { FromWorker, ToWorker } from './messages.js'
import { StormLoad } from './storm-load.js'

const say = (m: FromWorker) => process.send?.(m)
let chat: ChatLoad | undefined
/** Idle loads accumulate: the connections scenario opens its connections in rounds. */
const idle: IdleLoad[] = []
let storm: StormLoad | undefined
let progressTimer: NodeJS.Timeout | undefined

const fail = (e: unknown) => {
  say({ type: 'failed', message: e instanceof Error ? (e.stack ?? e.message) : String(e) })
}

const handle = async (m: ToWorker): Promise<void> => {
  switch (m.type) {
    case 'setup': {
      const t0 = performance.now()
      const s = m.setup
      switch (s.kind) {
        case 'chat': {
          await chat?.close()
          if (progressTimer) clearInterval(progressTimer)
          const load = new ChatLoad(s)
          chat = load
          // Progress during the setup too: logging a thousand users in takes a while.
          progressTimer = setInterval(() => say({ type: 'progress', progress: load.progress() }), 250)
          const r = await load.setup()
          say({ type: 'ready', ...r, setupMs: performance.now() - t0 })
          return
        }
        case 'idle': {
          const load = new IdleLoad(s)
          idle.push(load)
          const r = await load.setup()
          if (progressTimer) clearInterval(progressTimer)
          progressTimer = setInterval(() => {
            const open = idle.reduce((a, l) => a + l.openCount(), 0)
            say({ type: 'progress', progress: { sent: 0, stored: 0, delivered: 0, errors: 0, open } })
          }, 250)
          say({ type: 'ready', clients: r.clients, conversations: 0, setupMs: performance.now() - t0 })
          return
        }
        case 'echo':
          say({ type: 'echo', result: await runEcho(s) })
          return
        case 'storm': {
          storm?.close()
          const load = new StormLoad(s)
          storm = load
          if (progressTimer) clearInterval(progressTimer)
          progressTimer = setInterval(() => say({ type: 'progress', progress: load.progress() }), 250)
          say({ type: 'ready', clients: s.devices.length, conversations: 0, setupMs: performance.now() - t0 })
          return
        }
        default: {
          const never: never = s
          return never
        }
      }
    }
    case 'run':
      if (!chat) throw new Error('run before a chat setup')
      say({ type: 'step', result: await chat.run(m.step) })
      return
    case 'split':
      if (!chat) throw new Error('split groups before a chat setup')
      say({ type: 'split', ids: await chat.split(m.userIds, m.ids) })
      return
    case 'settle':
      if (!chat) throw new Error('settle before a chat setup')
      say({ type: 'settle', result: await chat.settle(m.stored, m.drainTimeoutMs) })
      return
    case 'media':
      if (!chat) throw new Error('media before a chat setup')
      say({ type: 'media', result: await runMediaLoad(chat, m.step) })
      return
    case 'storm':
      if (!storm) throw new Error('storm wave before a storm setup')
      say({ type: 'storm', result: await storm.wave(m.wave) })
      return
    case 'storm-drop':
      storm?.drop()
      say({ type: 'ready', clients: 0, conversations: 0, setupMs: 0 })
      return
    case 'close':
      if (progressTimer) clearInterval(progressTimer)
      storm?.close()
      for (const l of idle) l.close()
      await chat?.close()
      setTimeout(() => process.exit(0), 200).unref()
      process.disconnect?.()
      return
    default: {
      const never: never = m
      return never
    }
  }
}

process.on('message', (m: ToWorker) => {
  handle(m).catch(fail)
})
// The coordinator went away (Ctrl-C, crash): a worker never outlives it.
process.on('disconnect', () => process.exit(0))
