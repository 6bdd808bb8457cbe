import { availableParallelism } from 'node:os'

/**
 * GOMAXPROCS for nats-servers that share this machine with the application (ADR 0222).
 *
 * Go's scheduler keeps an idle P spinning, and stealing from a running one with `usleep(3)`,
 * whenever a goroutine wakes: on a box where the gateway, projector and PostgreSQL want the same
 * cores, that spinning is paid on every message. Measured on the 2-core box at 1,000 msg/s 1:1:
 * nats-server 380–385 → 297–302 µs per message with one P, the whole path −11 %, and the
 * latency tail lower too. The local servers get half of the cores between them, at least one each.
 * An operator's own `GOMAXPROCS` is kept.
 */
export const colocatedGoMaxProcs = (
  servers: number,
  env: NodeJS.ProcessEnv = process.env,
  cpus: number = availableParallelism(),
): string => env.GOMAXPROCS || String(Math.max(1, Math.floor(cpus / 2 / Math.max(1, servers))))
