/**
 * What `make dev` and `make cluster` print: pino lines become
 * `12:00:01 gateway-1     info  message {extra}`; anything else is printed as it came.
 */
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[91m']
const RESET = '\x1b[0m'

export const TAG_WIDTH = 14

export const prettyLine = (name: string, colorIndex: number, line: string, tty: boolean): string => {
  const color = COLORS[colorIndex % COLORS.length]!
  const tag = tty ? `${color}${name.padEnd(TAG_WIDTH)}${RESET}` : name.padEnd(TAG_WIDTH)
  try {
    const { time, level, msg, service: _s, pid: _p, hostname: _h, ...rest } = JSON.parse(line)
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : ''
    return `${String(time ?? '').slice(11, 19)} ${tag} ${String(level).padEnd(5)} ${msg ?? ''}${extra}`
  } catch {
    return `         ${tag} ${line}`
  }
}

/** `  name          value`: the banner's rows, with at least one space between the two. */
export const bannerRow = (name: string, value: string): string => `  ${name.padEnd(TAG_WIDTH)} ${value}`
