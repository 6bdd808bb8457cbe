/**
 * Every environment variable the system reads, with its default and who reads it. Services read
 * them only through `readConfig` in their `main.ts`; the README's table is checked against this
 * list by a test, so the two cannot drift apart.
 */
export interface EnvVar {
  readonly name: string
  readonly default: string
  readonly usedBy: readonly (
    | 'gateway'
    | 'projector'
    | 'media-worker'
    | 'push-worker'
    | 'infra'
    | 'benchmarks'
  )[]
  readonly description: string
}

const v = (name: string, def: string, usedBy: EnvVar['usedBy'], description: string): EnvVar => ({
  name,
  default: def,
  usedBy,
  description,
})

const ALL = ['gateway', 'projector', 'media-worker', 'push-worker', 'infra'] as const

export const ENV_VARS: readonly EnvVar[] = [
  v(
    'CHATAPP_NS',
    'chatapp',
    [...ALL, 'benchmarks'],
    'Namespace of every stream, subject, KV bucket, DB schema and S3 bucket.',
  ),
  v(
    'CHATAPP_SHARDS',
    '8',
    [...ALL, 'benchmarks'],
    'Number of conversation shard streams. Fixed for the life of a namespace.',
  ),
  v('NATS_URL', 'nats://127.0.0.1:4222', [...ALL, 'benchmarks'], 'NATS server(s), comma-separated.'),
  v(
    'CHATAPP_DATA_DIR',
    '.data',
    ['infra', 'benchmarks'],
    'Where the local stack keeps its daemons, data, logs and `stack.env`.',
  ),
  v(
    'CHATAPP_ENV_FILE',
    '.data/stack.env',
    ['projector', 'infra', 'benchmarks'],
    'The env file commands read for unset variables (e.g. `.data/cluster.env`); never read by services.',
  ),
  v('NATS_REPLICAS', '1', ['infra'], 'Replicas of every stream and KV bucket (3 in a cluster).'),
  v('NATS_DUPLICATE_WINDOW_MS', '120000', ['infra'], 'JetStream de-duplication window for retried sends.'),
  v(
    'DATABASE_URL',
    'postgres://postgres@127.0.0.1:5432/postgres',
    [...ALL],
    'PostgreSQL for accounts and views.',
  ),
  v(
    'S3_ENDPOINT',
    'http://127.0.0.1:14568',
    ['gateway', 'projector', 'media-worker', 'infra'],
    'S3 endpoint (s3rver locally; any S3 in production).',
  ),
  v('S3_REGION', 'us-east-1', ['gateway', 'projector', 'media-worker', 'infra'], 'S3 region.'),
  v('S3_ACCESS_KEY_ID', 'S3RVER', ['gateway', 'projector', 'media-worker', 'infra'], 'S3 access key.'),
  v('S3_SECRET_ACCESS_KEY', 'S3RVER', ['gateway', 'projector', 'media-worker', 'infra'], 'S3 secret key.'),
  v(
    'S3_FORCE_PATH_STYLE',
    'true',
    ['gateway', 'projector', 'media-worker', 'infra'],
    'Path-style bucket addressing (needed by s3rver and MinIO).',
  ),
  v('GATEWAY_HOST', '127.0.0.1', ['gateway'], 'Address the gateway listens on.'),
  v('GATEWAY_PORT', '8080', ['gateway', 'benchmarks'], 'WebSocket and HTTP API port.'),
  v('GATEWAY_OPS_PORT', '9100', ['gateway'], 'Port of /healthz, /readyz and /metrics.'),
  v('PROJECTOR_OPS_PORT', '9101', ['projector'], 'Port of /healthz, /readyz and /metrics.'),
  v('MEDIA_WORKER_OPS_PORT', '9102', ['media-worker'], 'Port of /healthz, /readyz and /metrics.'),
  v(
    'AUDIT_OPS_PORT',
    '9103',
    ['projector'],
    'Port of /healthz, /readyz and /metrics of a continuous `chatapp-ops audit`.',
  ),
  v('PUSH_WORKER_OPS_PORT', '9104', ['push-worker'], 'Port of /healthz, /readyz and /metrics.'),
  v('OPS_HOST', '127.0.0.1', ALL, 'Address the ops endpoints listen on.'),
  v(
    'ALLOWED_ORIGINS',
    '*',
    ['gateway'],
    'Comma-separated Origin allowlist for WebSocket upgrades; `*` allows any (dev only). The gateway’s own origin (the web app it serves) is always allowed.',
  ),
  v(
    'WEB_ROOT',
    'web/dist/public',
    ['gateway'],
    'Directory of the built web app served at `/`; a relative path is taken from the checkout the gateway runs from.',
  ),
  v(
    'WEB_COOKIE_SECURE',
    'true',
    ['gateway'],
    'Mark the web app’s refresh cookie `Secure` (HTTPS only; browsers accept it on localhost). `false` only for plain HTTP on another host.',
  ),
  v(
    'JWT_PRIVATE_KEY_FILE',
    '.data/keys/jwt-ed25519.pem',
    ['gateway'],
    'Ed25519 private key (PKCS#8 PEM) that signs access tokens; created if missing.',
  ),
  v('ACCESS_TOKEN_TTL_S', '900', ['gateway'], 'Access token lifetime.'),
  v('REFRESH_TOKEN_TTL_S', '2592000', ['gateway'], 'Refresh token lifetime.'),
  v('MAX_FRAME_BYTES', '65536', ['gateway'], 'Largest WebSocket frame accepted.'),
  v('MAX_TEXT_LENGTH', '4096', ['gateway'], 'Longest text message.'),
  v('EDIT_WINDOW_MS', '900000', ['gateway'], 'How long after sending a sender may edit a message.'),
  v(
    'DELETE_WINDOW_MS',
    '172800000',
    ['gateway'],
    'How long after sending a sender may delete a message for everyone (admins: any time).',
  ),
  v('MAX_GROUP_MEMBERS', '1024', ['gateway'], 'Largest group.'),
  v('CONN_FRAMES_PER_SECOND', '50', ['gateway'], 'Sustained frame rate per connection (burst is 4x).'),
  v(
    'USER_FRAMES_PER_SECOND',
    '100',
    ['gateway'],
    'Sustained frame rate per user on one gateway (burst is 4x).',
  ),
  v(
    'RECEIPT_BATCH_MS',
    '100',
    ['gateway'],
    'Group receipts wait this long to be appended as one batch (0: each on its own).',
  ),
  v(
    'APPEND_RETRY_MS',
    '10000',
    ['gateway'],
    'How long the gateway retries a log write while NATS elects a leader before answering UNAVAILABLE.',
  ),
  v(
    'SYNC_CONCURRENCY',
    '64',
    ['gateway'],
    'Syncs one gateway runs at once; more wait in line, first come first served (ADR 0172).',
  ),
  v(
    'SYNC_QUEUE',
    '20000',
    ['gateway'],
    'Syncs waiting at most; beyond, a sync is refused `UNAVAILABLE` with `retryAfterMs`.',
  ),
  v('UPLOAD_LIMIT_IMAGE', '16777216', ['gateway'], 'Largest photo upload, bytes.'),
  v('UPLOAD_LIMIT_VIDEO', '16777216', ['gateway'], 'Largest video upload, bytes.'),
  v('UPLOAD_LIMIT_AUDIO', '16777216', ['gateway'], 'Largest voice note upload, bytes.'),
  v('UPLOAD_LIMIT_DOCUMENT', '104857600', ['gateway'], 'Largest document upload, bytes.'),
  v('UPLOAD_RATE_PER_MINUTE', '30', ['gateway'], 'Uploads one user may start per minute on one gateway.'),
  v('UPLOAD_RATE_BURST', '10', ['gateway'], 'Uploads one user may start at once on one gateway.'),
  v(
    'UPLOAD_QUOTA_DAILY_BYTES',
    '1073741824',
    ['gateway'],
    'Bytes one user may upload per UTC day, over all gateways.',
  ),
  v(
    'UPLOAD_QUOTA_UNATTACHED_BYTES',
    '268435456',
    ['gateway'],
    'Bytes one user may hold in uploads that no message carries yet (including uploads in progress).',
  ),
  v(
    'UPLOAD_UNATTACHED_TTL_S',
    '86400',
    ['gateway'],
    'An upload that no message carries this long after it ended is deleted (object and record).',
  ),
  v(
    'UPLOAD_SWEEP_INTERVAL_S',
    '300',
    ['gateway'],
    'How often gateways delete expired uploads (one gateway at a time, under an advisory lock).',
  ),
  v('MEDIA_CONCURRENCY', '2', ['media-worker'], 'Jobs one media worker runs at once.'),
  v('MEDIA_MAX_ATTEMPTS', '3', ['media-worker'], 'Attempts before a job ends as media.failed.'),
  v('MEDIA_VIDEO_MAX_HEIGHT', '720', ['media-worker'], 'Largest video rendition height.'),
  v('FFMPEG_PATH', 'ffmpeg', ['media-worker'], 'ffmpeg binary.'),
  v('PROJECTOR_BATCH', '500', ['projector'], 'Events applied per transaction, at most.'),
  v(
    'PROJECTOR_LINGER_MS',
    '50',
    ['projector'],
    'Batches that are not full wait for more events until the next multiple of this on the process clock (at most this long); the batches of the shards then due go as one statement.',
  ),
  v(
    'PROJECTOR_OUTBOX_DRAIN_MS',
    '5000',
    ['projector'],
    'How often each shard’s effect outbox is read back and published (what a crash or a NATS outage left).',
  ),
  v(
    'PUSH_VAPID_KEY_FILE',
    '.data/keys/vapid-p256.pem',
    ['gateway', 'push-worker'],
    'VAPID (RFC 8292) P-256 private key (PKCS#8 PEM) that signs Web Push requests; created if missing. Gateways and push workers share it.',
  ),
  v(
    'PUSH_VAPID_SUBJECT',
    'mailto:operator@localhost',
    ['gateway', 'push-worker'],
    'Contact (`mailto:` or `https:`) sent to push services in the VAPID token.',
  ),
  v(
    'PUSH_WEBPUSH_ORIGINS',
    'https://fcm.googleapis.com,https://updates.push.services.mozilla.com,https://*.push.apple.com,https://*.notify.windows.com',
    ['gateway'],
    'Origins a Web Push endpoint may have (`https://*.domain` for subdomains; `http://` only when listed so).',
  ),
  v(
    'PUSH_WEBHOOK_ORIGINS',
    '',
    ['gateway'],
    'Origins a webhook target (mobile push relay) may have; empty: no webhook targets.',
  ),
  v(
    'PUSH_MAX_TARGETS_PER_USER',
    '10',
    ['gateway'],
    'Live push targets one user may have (one per device and kind).',
  ),
  v(
    'PUSH_CONTENT',
    'full',
    ['push-worker'],
    '`full`: notifications carry sender, kind and preview; `none`: only "new message" and the conversation id, for every user.',
  ),
  v(
    'PUSH_COALESCE_MS',
    '2000',
    ['push-worker'],
    'A burst in one conversation is collected this long, then one notification per device stands for it.',
  ),
  v(
    'PUSH_TTL_S',
    '86400',
    ['push-worker'],
    'Web Push TTL: how long a push service keeps an undelivered notification.',
  ),
  v('PUSH_TIMEOUT_MS', '10000', ['push-worker'], 'One request to a push service or relay.'),
  v(
    'PUSH_MAX_ATTEMPTS',
    '5',
    ['push-worker'],
    'Requests per notification on 429, 5xx, timeouts (with backoff and jitter).',
  ),
  v('PUSH_RETRY_BASE_MS', '1000', ['push-worker'], 'First retry wait; doubles per attempt, with jitter.'),
  v('PUSH_RETRY_MAX_MS', '60000', ['push-worker'], 'Longest retry wait (also caps a Retry-After).'),
  v(
    'PUSH_MAX_FAILURES',
    '10',
    ['push-worker'],
    'Notifications in a row a target may fail (after retries) before it is dead; 404/410 kill it at once.',
  ),
  v('PUSH_CONCURRENCY', '32', ['push-worker'], 'Requests to push services in flight at once, per worker.'),
  v(
    'PUSH_ACK_WAIT_MS',
    '30000',
    ['push-worker'],
    'How long a job taken by a worker that died waits before another worker takes it.',
  ),
  v(
    'PUSH_DEAD_RETENTION_DAYS',
    '30',
    ['push-worker'],
    'Dead targets are kept this long for operators, then purged.',
  ),
  v(
    'PROJECTOR_PUSH_JOBS',
    'true',
    ['projector'],
    'Write a push job per accepted message for the push worker (false: no push notifications, and no cost per message).',
  ),
  v(
    'ARCHIVE_ENABLED',
    'true',
    ['projector'],
    'Run an archiver per leased shard in the projector: copies the log into S3 segments and trims the hot log (ADR 0200, 0201).',
  ),
  v(
    'LOG_HOT_SECONDS',
    '604800',
    ['projector'],
    'The hot window: messages older than this leave the stream once archived and projected (0: no age limit).',
  ),
  v(
    'LOG_HOT_MAX_BYTES',
    '0',
    ['projector'],
    'Bytes a shard stream may hold before its oldest archived and projected messages leave it (0: no size limit).',
  ),
  v('ARCHIVE_SEGMENT_EVENTS', '50000', ['projector'], 'An archive segment is cut at this many messages …'),
  v('ARCHIVE_SEGMENT_BYTES', '16777216', ['projector'], '… or this many payload bytes …'),
  v(
    'ARCHIVE_SEGMENT_SECONDS',
    '60',
    ['projector'],
    '… or when its first message is this old (bounds the archive lag when traffic is low).',
  ),
  v(
    'ARCHIVE_POLL_MS',
    '1000',
    ['projector'],
    'How often an archiver reads what is new in its stream and trims it (the archive lags the log by about this).',
  ),
  v('LOG_LEVEL', 'info', ALL, 'pino log level.'),
  v('AUTH_RATE_PER_MINUTE', '20', ['gateway'], 'Register and login requests per client address per minute.'),
  v('AUTH_RATE_BURST', '10', ['gateway'], 'Register and login requests one client address may burst.'),
  v(
    'LOGIN_FREE_FAILURES',
    '5',
    ['gateway'],
    'Failed logins in a row on one username before each further attempt waits (1 s, doubling).',
  ),
  v('LOGIN_MAX_DELAY_S', '900', ['gateway'], 'Longest wait between login attempts on one username.'),
  v(
    'GROUP_CREATE_PER_HOUR',
    '20',
    ['gateway'],
    'Groups one user may create per hour, across gateways (as many at once).',
  ),
  v(
    'TRUSTED_PROXY_HOPS',
    '0',
    ['gateway'],
    'Proxies in front of the gateway that append to X-Forwarded-For (0: the peer is the client).',
  ),
]

export const envDefault = (name: string): string => {
  const e = ENV_VARS.find((x) => x.name === name)
  if (!e) throw new Error(`unknown environment variable ${name}: add it to kit/src/env.ts`)
  return e.default
}
