import { type Logger, pino } from 'pino'

export type { Logger }

/** JSON logs on stdout, one line per entry, with the service name on every line. */
export const createLogger = (service: string, level = 'info'): Logger =>
  pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  })
