import { parseArgs } from 'node:util'

/** The command line: scenarios, their options and defaults, parsed without side effects. */
export const SCENARIOS = [
  'quick',
  'direct',
  'ramp',
  'group',
  'connections',
  'reconnect',
  'media',
  'ceilings',
] as const
export type Scenario = (typeof SCENARIOS)[number]

export interface Options {
  scenario: Scenario
  workers: number
  /** Gateway processes the clients are spread over, round robin (`--gateways`). */
  gateways: number
  gatewayUrl?: string
  projectorMetricsUrl?: string
  shards: number
  /** GOMAXPROCS of the private nats-server; 0 = Go's default (`--nats-procs`, ADR 0222). */
  natsProcs: number
  keep: boolean
  out: string
  ceilings: boolean
  /** Directory for V8 CPU profiles of the services and load workers (`--profile DIR`), written when they stop. */
  profileDir?: string
  /** What `--profile` records: CPU samples, or allocations garbage included (`--allocations`). */
  profileKind: 'cpu' | 'allocation'
  /**
   * `--stalls DIR`: services and load workers record their collections and event-loop blocks
   * there, and each group step lists its slowest messages beside what stalled meanwhile.
   */
  stallDir?: string
  /** Use the stack's nats-server (shared with everything else on the machine) instead of a private one. */
  sharedNats: boolean
  /** reconnect: the storm mode (seeded log, N sessions reconnecting within a window). */
  storm: boolean
  ceilingSeconds: number
  msgBytes: number
  receiptIntervalMs: number
  durationS: number
  /** direct, group: seconds of unmeasured sending on the same connections before the measured step. */
  warmupS: number
  drainTimeoutS: number
  clients: number
  rate: number
  startRate: number
  stepRate: number
  maxRate: number
  targetP99Ms: number
  groups: number
  groupSize: number
  connections: number
  freshConnections: number
  users: number
  sourceAddresses: number
  holdS: number
  reconnectClients: number
  offlineS: number
  sessions: number
  devices: number
  events: number
  windowS: number
  conversationsPerUser: number
  missed: number
  uploads: number
  photoShare: number
  /** Hard bound on the whole run, after which everything is stopped and the run fails. */
  maxRunS: number
}

interface Spec {
  flag: string
  key: keyof Options
  help: string
  /** Defaults per scenario, falling back to `*`. */
  def: Partial<Record<Scenario | '*', number>>
  min: number
  max: number
}

const n = (flag: string, key: keyof Options, help: string, def: Spec['def'], min = 0, max = 1e9): Spec => ({
  flag,
  key,
  help,
  def,
  min,
  max,
})

export const NUMERIC: Spec[] = [
  n('workers', 'workers', 'load generator processes', { '*': 2 }, 1, 64),
  n(
    'gateways',
    'gateways',
    'gateway processes; clients are spread over them round robin (make cluster runs 2 behind haproxy)',
    { '*': 1 },
    1,
    8,
  ),
  n(
    'nats-procs',
    'natsProcs',
    "GOMAXPROCS of the run's private nats-server (0 = Go's default, every core; ADR 0222)",
    { '*': 0 },
    0,
    1024,
  ),
  n('shards', 'shards', 'conversation shard streams of the run namespace', { '*': 8 }, 1, 1024),
  n('msg-bytes', 'msgBytes', 'text size of each message', { '*': 100 }, 32, 4096),
  n(
    'receipt-interval-ms',
    'receiptIntervalMs',
    'receivers send coalesced delivered receipts this often (0 = none)',
    { '*': 200 },
    0,
    60_000,
  ),
  n('duration', 'durationS', 'seconds of sending', { '*': 20, quick: 10, reconnect: 15, media: 30 }, 1, 3600),
  n(
    'warmup',
    'warmupS',
    'direct, group: seconds of sending before the measured step, reported apart (JIT, fresh rooms)',
    { '*': 0 },
    0,
    600,
  ),
  n('drain-timeout', 'drainTimeoutS', 'seconds to wait for the last deliveries', { '*': 15 }, 1, 600),
  n(
    'clients',
    'clients',
    'connected users (direct, ramp, reconnect, media)',
    { '*': 1000, quick: 100, reconnect: 200, media: 20 },
    2,
    200_000,
  ),
  n(
    'rate',
    'rate',
    'messages per second offered in total',
    { '*': 1000, quick: 200, group: 20, reconnect: 200 },
    1,
    1e7,
  ),
  n('start-rate', 'startRate', 'ramp: first rate', { '*': 500 }, 1, 1e7),
  n('step-rate', 'stepRate', 'ramp: rate added per step', { '*': 500 }, 1, 1e7),
  n('max-rate', 'maxRate', 'ramp: stop here at the latest', { '*': 20_000 }, 1, 1e7),
  n('target-p99-ms', 'targetP99Ms', 'ramp: highest acceptable p99 send→delivered', { '*': 100 }, 1, 60_000),
  n('groups', 'groups', 'group: number of groups', { '*': 4, quick: 2 }, 1, 10_000),
  n('group-size', 'groupSize', 'group: members per group (at most 1024)', { '*': 64, quick: 32 }, 2, 1024),
  n('connections', 'connections', 'connections: idle connections to open', { '*': 15_000 }, 1, 1_000_000),
  n(
    'fresh-connections',
    'freshConnections',
    'connections: how many of them measure the fresh process (the rest: the marginal cost on a warm one)',
    { '*': 10_000 },
    1,
    1_000_000,
  ),
  n('users', 'users', 'connections: distinct users sharing them', { '*': 100 }, 1, 1_000_000),
  n(
    'source-addresses',
    'sourceAddresses',
    'connections: 127.0.0.x source addresses to spread over',
    { '*': 4 },
    1,
    250,
  ),
  n('hold', 'holdS', 'connections: seconds to hold them open before measuring', { '*': 5 }, 0, 3600),
  n(
    'reconnect-clients',
    'reconnectClients',
    'reconnect: devices that drop and resync',
    { '*': 20 },
    1,
    100_000,
  ),
  n('offline', 'offlineS', 'reconnect: seconds they stay offline', { '*': 3 }, 0, 3600),
  n(
    'sessions',
    'sessions',
    'reconnect --storm: sessions (one device of one user each)',
    { '*': 10_000 },
    2,
    200_000,
  ),
  n(
    'devices',
    'devices',
    'reconnect --storm: devices that (re)connect, spread over the users (0 = every user)',
    { '*': 0 },
    0,
    200_000,
  ),
  n(
    'events',
    'events',
    'reconnect --storm: events seeded into the log beforehand',
    { '*': 1_000_000 },
    1,
    1e9,
  ),
  n(
    'window',
    'windowS',
    'reconnect --storm: seconds over which the sessions (re)connect',
    { '*': 60 },
    1,
    3600,
  ),
  n(
    'conversations-per-user',
    'conversationsPerUser',
    'reconnect --storm: direct conversations of each user (even)',
    { '*': 2 },
    2,
    1000,
  ),
  n(
    'missed',
    'missed',
    'reconnect --storm: messages each conversation gets while its devices are away',
    { '*': 5 },
    0,
    10_000,
  ),
  n('uploads', 'uploads', 'media: uploads in total', { '*': 40 }, 1, 100_000),
  n('photo-share', 'photoShare', 'media: share of photos (the rest are videos), 0..1', { '*': 0.75 }, 0, 1),
  n('ceiling-seconds', 'ceilingSeconds', 'seconds of each ceiling measurement', { '*': 5, quick: 3 }, 1, 600),
  n('max-run', 'maxRunS', 'hard bound on the whole run, seconds', { '*': 900, quick: 120 }, 10, 86_400),
]

export const HELP = `chatapp benchmarks — load the whole pipeline over real WebSockets

usage: npm run bench -- <scenario> [options]      (make bench = the quick scenario)

scenarios
  quick         a small direct run, a small group run (at 20 msg/s) and the ceilings (at most 2 minutes)
  direct        N users in 1:1 pairs at a fixed offered rate
  ramp          raise the rate step by step until p99 send→delivered passes the target or loss appears
  group         G groups of S members: latency until the last member has each message
  connections   C idle connections on a fresh gateway: its memory per connection (the first F, then
                the marginal cost on the warm process), and the nats-server's per connection
  reconnect     K devices drop mid-run and resync: nothing may be missed; with --storm, a log of
                --events seeded in bulk and --sessions devices (re)connecting within --window s
  media         photo and video uploads: worker throughput and time to ready
  ceilings      only the ceilings: raw JetStream publish and raw uWebSockets.js echo
  chaos         the production shape (make cluster) under load while processes are killed -9;
                checks every invariant (npm run bench -- chaos --help)

options
  --gateway-url URL           target a running gateway instead of starting the system
  --projector-metrics-url URL read projection lag there (with --gateway-url)
  --keep                      keep the run's namespace (streams, tables, bucket) afterwards
  --out DIR                   where the JSON and HTML reports go (default benchmarks/results)
  --no-ceilings               skip the ceiling measurements
  --profile DIR               write a V8 CPU profile of each service and load worker to DIR (open in Chrome DevTools)
  --allocations               with --profile: allocation profiles instead (.heapprofile; garbage included)
  --stalls DIR                services and load workers record their collections and event-loop
                              blocks to DIR; group steps (split over workers) list their slowest
                              messages with what stalled meanwhile (adds a 5-ms timer per process)
  --shared-nats               use the stack's nats-server instead of a private one for the run
  --storm                     reconnect: the storm mode
${NUMERIC.map(
  (s) =>
    `  --${s.flag.padEnd(26)}${s.help} (default ${s.def['*']}${Object.entries(s.def)
      .filter(([k]) => k !== '*')
      .map(([k, v]) => `, ${k} ${v}`)
      .join('')})`,
).join('\n')}

Every run is bounded (--max-run), talks only to 127.0.0.1, stops everything it started, and exits
non-zero when any message was lost, duplicated or delivered out of order.
`

export type Parsed = { ok: true; options: Options } | { ok: false; error: string } | { ok: false; help: true }

export const parseOptions = (argv: string[], defaultOut: string): Parsed => {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        keep: { type: 'boolean' },
        'no-ceilings': { type: 'boolean' },
        'shared-nats': { type: 'boolean' },
        storm: { type: 'boolean' },
        'gateway-url': { type: 'string' },
        'projector-metrics-url': { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'string' },
        allocations: { type: 'boolean' },
        stalls: { type: 'string' },
        ...Object.fromEntries(NUMERIC.map((s) => [s.flag, { type: 'string' as const }])),
      },
    })
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
  const v = parsed.values as Record<string, string | boolean | undefined>
  if (v.help || parsed.positionals.length === 0) return { ok: false, help: true }
  const scenario = parsed.positionals[0] as Scenario
  if (!SCENARIOS.includes(scenario)) return { ok: false, error: `unknown scenario "${scenario}"` }
  if (parsed.positionals.length > 1) return { ok: false, error: `unexpected "${parsed.positionals[1]}"` }
  const out: Record<string, unknown> = {
    scenario,
    keep: v.keep === true,
    ceilings: v['no-ceilings'] !== true,
    sharedNats: v['shared-nats'] === true,
    storm: v.storm === true,
    out: typeof v.out === 'string' ? v.out : defaultOut,
    ...(typeof v.profile === 'string' ? { profileDir: v.profile } : {}),
    profileKind: v.allocations === true ? 'allocation' : 'cpu',
    ...(typeof v.stalls === 'string' ? { stallDir: v.stalls } : {}),
  }
  if (v.allocations === true && typeof v.profile !== 'string')
    return { ok: false, error: '--allocations needs --profile DIR' }
  for (const url of ['gateway-url', 'projector-metrics-url'] as const) {
    const raw = v[url]
    if (typeof raw !== 'string') continue
    let u: URL
    try {
      u = new URL(raw)
    } catch {
      return { ok: false, error: `--${url}: not a URL` }
    }
    // Benchmarks only ever talk to this machine: a load test must not hit someone else's server by a typo.
    if (!/^127\.\d+\.\d+\.\d+$|^localhost$/.test(u.hostname))
      return { ok: false, error: `--${url}: only loopback addresses are allowed` }
    out[url === 'gateway-url' ? 'gatewayUrl' : 'projectorMetricsUrl'] = raw.replace(/\/$/, '')
  }
  for (const s of NUMERIC) {
    const raw = v[s.flag]
    const value = typeof raw === 'string' ? Number(raw) : (s.def[scenario] ?? s.def['*']!)
    if (!Number.isFinite(value) || value < s.min || value > s.max)
      return { ok: false, error: `--${s.flag}=${raw}: expected a number from ${s.min} to ${s.max}` }
    out[s.key] = value
  }
  // Only the run's own nats-server is started with it: elsewhere it would do nothing, silently.
  if (typeof v['nats-procs'] === 'string' && (out.sharedNats === true || out.gatewayUrl !== undefined))
    return {
      ok: false,
      error: "--nats-procs sets the run's private nats-server: not with --shared-nats or --gateway-url",
    }
  return { ok: true, options: out as unknown as Options }
}
