import { DEFAULT_LOG_SETTINGS, isValidNamespace, type LogSettings } from '@chatapp/contracts'
import { ConfigError, ConfigReader, readS3, type S3Config } from '@chatapp/kit'

type Env = Record<string, string | undefined>

/** How a namespace's streams and buckets are provisioned: replicas and the de-duplication window. */
export const readLogSettings = (c: ConfigReader): LogSettings => ({
  ...DEFAULT_LOG_SETTINGS,
  // JetStream allows at most 5 replicas; more than the cluster has nodes is refused at provisioning.
  replicas: c.int('NATS_REPLICAS', 1, 5),
  // A retried send inside the window returns the original sequence; a day bounds the memory the
  // window's message ids cost on every replica.
  duplicateWindowMs: c.int('NATS_DUPLICATE_WINDOW_MS', 1000, 86_400_000),
})

export interface InfraConfig {
  ns: string
  shards: number
  natsUrl: string
  databaseUrl: string
  s3: S3Config
  settings: LogSettings
}

/**
 * Everything infra reads from the environment, validated once: every problem is reported in one
 * ConfigError, before anything is started or provisioned.
 */
export const readInfraConfig = (env: Env): InfraConfig => {
  const c = new ConfigReader(env)
  const ns = c.str('CHATAPP_NS')
  const cfg: InfraConfig = {
    ns,
    shards: c.int('CHATAPP_SHARDS', 1, 1024),
    natsUrl: c.url('NATS_URL'),
    databaseUrl: c.url('DATABASE_URL'),
    s3: readS3(c),
    settings: readLogSettings(c),
  }
  let problems: string[] = []
  try {
    c.done()
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    problems = e.problems
  }
  if (!isValidNamespace(ns)) problems.push(`CHATAPP_NS=${ns}: expected [a-z][a-z0-9]{0,23}`)
  if (problems.length > 0) throw new ConfigError(problems)
  return cfg
}
