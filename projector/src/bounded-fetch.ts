import type { Consumer, JsMsg } from '@nats-io/jetstream'
import { TimeoutError } from '@nats-io/nats-core'

/** How long the server keeps a pull open; an empty pull after it says "nothing more for now". */
export const FETCH_EXPIRES_MS = 1_000

/**
 * A pull still open this long after the server's own expiry has lost its server. nats.js keeps an
 * ordered consumer's fetch waiting through missed heartbeats and reconnects (for those it resets
 * rather than stops): when the node holding the consumer dies, the fetch never ends, and neither
 * did a log read or an archive pass waiting on it.
 */
export const FETCH_WATCHDOG_MS = FETCH_EXPIRES_MS + 4_000

/**
 * One pull of up to `max` messages from an ordered consumer, read to its end, that ends with a
 * TimeoutError (transient: the caller re-creates the consumer where it stands) if the server
 * never closes it.
 */
export async function* boundedFetch(consumer: Consumer, max: number): AsyncGenerator<JsMsg> {
  const pull = await consumer.fetch({ max_messages: max, expires: FETCH_EXPIRES_MS })
  const watchdog = setTimeout(
    () =>
      pull.stop(new TimeoutError({ cause: new Error('a pull outlived its expiry: no server answers it') })),
    FETCH_WATCHDOG_MS,
  )
  try {
    yield* pull
  } finally {
    clearTimeout(watchdog)
  }
}
