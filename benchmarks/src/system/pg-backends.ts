import pg from 'pg'

/**
 * The PostgreSQL backends serving each service of the run. Every service the benchmark starts
 * gets `PGAPPNAME=<prefix><service>` (node-postgres reads it), so its backends are the rows of
 * `pg_stat_activity` with that application name: their CPU is that service's share of
 * PostgreSQL, without the other users of a shared server. Polled once a second (pools open
 * backends lazily); a backend seen for the first time mid-window counts from then on.
 */
export class PgBackends {
  private client: pg.Client | undefined
  private timer: NodeJS.Timeout | undefined
  private byApp = new Map<string, number[]>()

  constructor(
    private readonly databaseUrl: string,
    private readonly prefix: string,
  ) {}

  static appName(prefix: string, service: string): string {
    // PostgreSQL truncates application_name to 63 bytes.
    return `${prefix}${service}`.slice(0, 63)
  }

  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: `${this.prefix}probe`,
    })
    await client.connect()
    this.client = client
    await this.poll()
    this.timer = setInterval(() => void this.poll(), 1000)
    this.timer.unref()
  }

  /** Refreshes the pids now (before a measurement window opens, so no backend is missed). */
  async poll(): Promise<void> {
    if (!this.client) return
    try {
      const r = await this.client.query<{ pid: number; application_name: string }>(
        'SELECT pid, application_name FROM pg_stat_activity WHERE starts_with(application_name, $1)',
        [this.prefix],
      )
      const next = new Map<string, number[]>()
      for (const row of r.rows)
        next.set(row.application_name, [...(next.get(row.application_name) ?? []), row.pid])
      this.byApp = next
    } catch {
      // a missed poll keeps the last list
    }
  }

  pids(service: string): number[] {
    return this.byApp.get(PgBackends.appName(this.prefix, service)) ?? []
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.client?.end().catch(() => {})
    this.client = undefined
  }
}
