// A gateway, in a process of its own, that never learns how its conversation appends went: the
// append reaches JetStream and is stored, but the PubAck is swallowed, so the command is never
// answered (nor, before ADR 0150, anything done that followed it). It prints
// `appended <subject> <seq>` for each one; the test kills it there with SIGKILL.
// Run by test/e2e/effects-after-crash.test.ts with the built package (tsc -b): argv = JSON config.
import { connectNats, createLogger } from '@chatapp/kit'
import { createTokenService } from '../../dist/accounts/token-service.js'
import { defaultGatewayConfig } from '../../dist/config.js'
import { startGateway } from '../../dist/gateway.js'

const c = JSON.parse(process.argv[2])
const log = createLogger('append-then-die', 'silent')
const real = await connectNats(c.natsUrl, 'append-then-die', log)
const conversationLane = new RegExp(`^${c.ns}\\.conv\\.\\d+\\.[^.]+\\.m$`)
/** Reply subject of a conversation append → its subject. */
const appends = new Map()
const nc = new Proxy(real, {
  get(target, prop) {
    if (prop === 'publish')
      return (subject, data, opts) => {
        if (opts?.reply && conversationLane.test(subject)) appends.set(opts.reply, subject)
        return target.publish(subject, data, opts)
      }
    if (prop === 'subscribe')
      return (subject, opts) => {
        const cb = opts?.callback
        if (!cb) return target.subscribe(subject, opts)
        return target.subscribe(subject, {
          ...opts,
          callback: (err, msg) => {
            const appended = msg && appends.get(msg.subject)
            if (!err && appended) {
              const ack = JSON.parse(new TextDecoder().decode(msg.data))
              process.stdout.write(`appended ${appended} ${ack.seq}\n`)
              return
            }
            cb(err, msg)
          },
        })
      }
    const v = Reflect.get(target, prop, target)
    return typeof v === 'function' ? v.bind(target) : v
  },
})
const tokens = await createTokenService({ privateKeyPem: c.pem, ttlS: 600 })
const gw = await startGateway(defaultGatewayConfig(c.ns, c.shards), {
  nc,
  log,
  tokens,
  directory: {
    existing: async (ids) => new Set(ids),
    groupAdds: async (ids) => new Map(ids.map((u) => [u, 'everyone'])),
  },
})
process.stdout.write(`listening ${gw.port}\n`)
