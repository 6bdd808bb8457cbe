import type { Logger } from './logger.js'

/**
 * Runs `stop` once on SIGINT or SIGTERM, then exits. A second signal, or a stop that takes longer
 * than `graceMs`, exits at once, so a stuck dependency never keeps a process alive.
 */
export const onShutdown = (log: Logger, stop: () => Promise<void>, graceMs = 10_000): void => {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'shutdown took too long: exiting')
      process.exit(1)
    }, graceMs)
    timer.unref()
    stop().then(
      () => {
        log.info('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}
