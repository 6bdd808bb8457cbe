import type { NatsConnection } from '@nats-io/nats-core'
import { Counter, type Registry } from 'prom-client'

/**
 * `nats_connection_events_total{event}`: the NATS client's status events (disconnect, reconnect,
 * error, …) on this process's connection. A reconnect rate that rises is a NATS node going away
 * or a network that flaps; every service exports it so a dashboard shows which one saw it.
 */
export const natsConnectionMetrics = (nc: NatsConnection, registry: Registry): void => {
  const events = new Counter({
    name: 'nats_connection_events_total',
    help: "Status events of the process's NATS connection, by type (disconnect, reconnect, error …).",
    labelNames: ['event'],
    registers: [registry],
  })
  // Each call to status() is its own iterator: this one does not take events from the logger's.
  ;(async () => {
    for await (const s of nc.status()) events.inc({ event: s.type })
  })().catch(() => {})
}
