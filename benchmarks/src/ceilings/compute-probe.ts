/**
 * The work side of the compute price (compute-ceiling.ts), in a process of its own:
 *   node compute-probe.js <events>
 * decodes `events` stored 100-byte chat messages as every service reads one from the log (JSON
 * and the schema check), writes each again as the gateway's `event` frame and encodes it to bytes
 * as a socket write does, on one busy core after a warm-up; prints one JSON line with the CPU
 * (getrusage) per event. No I/O and no sleep in the timed part: what a core does per event when it
 * is awake, next to the wake-up price of what it costs to wake it.
 */
import { decodeEvent } from '@chatapp/contracts'

const TEXT = 'x'.repeat(100)

/** The stored JSON of message `n` of a direct conversation (the shape the log holds). */
const stored = (n: number) =>
  JSON.stringify({
    v: 1,
    type: 'message.sent',
    id: `c_x3Vq8e2C1mYbq9tA0pPz4w:u_k9Xw2mQ7:cm_${String(n).padStart(10, '0')}`,
    conversationId: 'c_x3Vq8e2C1mYbq9tA0pPz4w',
    actor: 'u_k9Xw2mQ7',
    at: 1795250001000 + n,
    data: {
      clientMsgId: `cm_${String(n).padStart(10, '0')}`,
      deviceId: 'phone',
      n,
      kind: 'text',
      text: TEXT,
    },
  })

const once = (raw: string, seq: number): number => {
  const d = decodeEvent(raw)
  if (!d.ok) throw new Error(`the reference event does not decode: ${d.error.message}`)
  const frame = `{"type":"event","conversationId":"${d.value.conversationId}","seq":${seq},"prev":${seq - 1},"lane":"m","event":${JSON.stringify(d.value)}}`
  return Buffer.from(frame, 'utf8').length
}

const events = Number(process.argv[2])
if (!Number.isInteger(events) || events < 1) {
  process.stderr.write('usage: compute-probe.js <events>\n')
  process.exitCode = 2
} else {
  // A few distinct records, so nothing is a constant the optimiser could fold away.
  const raws = Array.from({ length: 64 }, (_, i) => stored(i + 1))
  let bytes = 0
  for (let i = 0; i < Math.max(2_000, events / 5); i++) bytes += once(raws[i % 64]!, i + 2)
  const from = process.cpuUsage()
  for (let i = 0; i < events; i++) bytes += once(raws[i % 64]!, i + 2)
  const used = process.cpuUsage(from)
  process.stdout.write(
    `${JSON.stringify({ events, cpuUs: used.user + used.system, usPerEvent: (used.user + used.system) / events, bytes })}\n`,
  )
}
