import { envDefault } from './env.js'

/** Raised once, at start-up, for every invalid variable at the same time. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/**
 * Reads variables declared in ENV_VARS, collecting every problem instead of stopping at the
 * first, so an operator fixes a bad deployment in one round.
 */
export class ConfigReader {
  private readonly problems: string[] = []
  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string {
    const value = this.env[name]
    return value === undefined || value === '' ? envDefault(name) : value
  }

  str(name: string): string {
    return this.raw(name)
  }

  int(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.raw(name)
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name}=${raw}: expected an integer from ${min} to ${max}`)
      return min
    }
    return n
  }

  bool(name: string): boolean {
    const raw = this.raw(name).toLowerCase()
    if (raw === 'true' || raw === '1') return true
    if (raw === 'false' || raw === '0') return false
    this.problems.push(`${name}=${raw}: expected true or false`)
    return false
  }

  url(name: string): string {
    const raw = this.raw(name)
    for (const part of raw.split(',')) {
      try {
        new URL(part.trim())
      } catch {
        this.problems.push(`${name}=${raw}: not a URL`)
      }
    }
    return raw
  }

  list(name: string): string[] {
    return this.raw(name)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.raw(name)
    if (!allowed.includes(raw as T))
      this.problems.push(`${name}=${raw}: expected one of ${allowed.join(', ')}`)
    return raw as T
  }

  /** Throws a ConfigError listing every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems)
  }
}

/** Settings every service shares. */
export interface CommonConfig {
  ns: string
  shards: number
  natsUrl: string
  databaseUrl: string
  opsHost: string
  logLevel: string
}

export const readCommon = (c: ConfigReader): CommonConfig => ({
  ns: c.str('CHATAPP_NS'),
  shards: c.int('CHATAPP_SHARDS', 1, 1024),
  natsUrl: c.url('NATS_URL'),
  databaseUrl: c.url('DATABASE_URL'),
  opsHost: c.str('OPS_HOST'),
  logLevel: c.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
})

export interface S3Config {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  forcePathStyle: boolean
}

export const readS3 = (c: ConfigReader): S3Config => ({
  endpoint: c.url('S3_ENDPOINT'),
  region: c.str('S3_REGION'),
  accessKeyId: c.str('S3_ACCESS_KEY_ID'),
  secretAccessKey: c.str('S3_SECRET_ACCESS_KEY'),
  forcePathStyle: c.bool('S3_FORCE_PATH_STYLE'),
})
