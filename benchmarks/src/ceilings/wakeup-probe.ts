/**
 * The two sides of the wake-up price measurement (wakeup-ceiling.ts), one process each:
 *   node wakeup-probe.js echo          listens on loopback, prints `listening <port>`, echoes
 *                                      every 64-byte message; on the end message it answers
 *                                      with the CPU it used since the first message
 *   node wakeup-probe.js ping <port> <n> <gapMs>
 *                                      sends n messages one at a time, each `gapMs` after the
 *                                      answer to the one before, so both sides sleep between
 *                                      them; prints one JSON line: its CPU, the echo's, n
 * Plain TCP on loopback, as between the services and NATS or PostgreSQL.
 */
import { createConnection, createServer, type Socket } from 'node:net'

const SIZE = 64
const PING = Buffer.alloc(SIZE, 'p')
const END = Buffer.alloc(SIZE, 'e')

const cpuUs = (u: NodeJS.CpuUsage) => u.user + u.system

/** Calls `onMessage` with each whole 64-byte message, whatever way TCP splits or joins them. */
const framed = (s: Socket, onMessage: (m: Buffer) => void) => {
  let pending: Buffer = Buffer.alloc(0)
  s.on('data', (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d])
    while (pending.length >= SIZE) {
      onMessage(pending.subarray(0, SIZE))
      pending = pending.subarray(SIZE)
    }
  })
}

const echo = () => {
  const server = createServer((s) => {
    s.setNoDelay(true)
    let from: NodeJS.CpuUsage | undefined
    let seen = 0
    framed(s, (m) => {
      if (m[0] === END[0]) {
        const used = from ? cpuUs(process.cpuUsage(from)) : 0
        s.end(`${JSON.stringify({ echoCpuUs: used })}\n`)
        server.close()
        return
      }
      // From the second message on, as the pinger counts: the first is the warm-up.
      if (++seen === 2) from = process.cpuUsage()
      s.write(m)
    })
  })
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`)
  })
}

const ping = (port: number, n: number, gapMs: number) => {
  const s = createConnection({ port, host: '127.0.0.1' }, () => {
    s.setNoDelay(true)
    let sent = 0
    let from: NodeJS.CpuUsage | undefined
    let pingCpuUs = 0
    let tail = ''
    const next = () => {
      if (sent === n) {
        pingCpuUs = from ? cpuUs(process.cpuUsage(from)) : 0
        s.write(END)
        return
      }
      sent++
      s.write(PING)
    }
    // The first n × 64 bytes are echoes; what follows them, the echo's JSON line.
    let received = 0
    s.on('data', (d: Buffer) => {
      const before = Math.min(n, Math.floor(received / SIZE))
      received += d.length
      const echoes = Math.min(n, Math.floor(received / SIZE))
      if (received > n * SIZE)
        tail += d.subarray(Math.max(0, d.length - (received - n * SIZE))).toString('utf8')
      if (echoes === before) return
      // The first answer starts the measurement: connecting and warming up are not counted.
      if (echoes === 1) from = process.cpuUsage()
      setTimeout(next, gapMs)
    })
    s.on('end', () => {
      const { echoCpuUs } = JSON.parse(tail) as { echoCpuUs: number }
      process.stdout.write(`${JSON.stringify({ pingCpuUs, echoCpuUs, messages: n - 1 })}\n`)
    })
    next()
  })
}

const [mode, port, n, gap] = process.argv.slice(2)
if (mode === 'echo') echo()
else if (mode === 'ping') ping(Number(port), Number(n), Number(gap))
else {
  process.stderr.write('usage: wakeup-probe.js echo | ping <port> <n> <gapMs>\n')
  process.exitCode = 2
}
