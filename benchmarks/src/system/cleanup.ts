/**
 * Everything a run starts registers how to stop it here; the stops run in reverse order on
 * success, on error and on Ctrl-C / SIGTERM, once each, so a run never leaves anything behind.
 */
export class Cleanup {
  private readonly stops: { what: string; stop: () => Promise<void> }[] = []
  private running: Promise<void> | undefined

  add(what: string, stop: () => Promise<void>): void {
    this.stops.push({ what, stop })
  }

  run(log: (m: string) => void = () => {}): Promise<void> {
    this.running ??= (async () => {
      while (this.stops.length > 0) {
        const s = this.stops.pop()!
        try {
          await s.stop()
        } catch (e) {
          log(`could not stop ${s.what}: ${e instanceof Error ? e.message : String(e)}`)
        }
      }
    })()
    return this.running
  }

  /** A first signal stops everything and exits 130; a second exits at once. */
  onSignals(log: (m: string) => void): void {
    let seen = false
    const handler = (signal: NodeJS.Signals) => {
      if (seen) process.exit(130)
      seen = true
      log(`${signal}: stopping everything this run started…`)
      void this.run(log).finally(() => process.exit(130))
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  }
}
