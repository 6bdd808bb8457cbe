/**
 * A one-line progress bar on stderr (redrawn in place on a terminal, a line every 5 s otherwise,
 * so CI logs stay readable). stdout stays clean for the final table.
 */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined
  private lastLine = 0
  private readonly tty = process.stderr.isTTY === true

  start(label: string, totalMs: number, status: () => string): void {
    const t0 = performance.now()
    const draw = () => {
      const elapsed = performance.now() - t0
      const frac = Math.min(1, elapsed / Math.max(1, totalMs))
      const width = 24
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░')
      const line = `${label.padEnd(18)} ${bar} ${(elapsed / 1000).toFixed(0).padStart(3)}/${(totalMs / 1000).toFixed(0)} s  ${status()}`
      if (this.tty) process.stderr.write(`\r\x1b[K${line}`)
      else if (elapsed - this.lastLine >= 5000) {
        this.lastLine = elapsed
        process.stderr.write(`${line}\n`)
      }
    }
    this.stop()
    draw()
    this.timer = setInterval(draw, 250)
    this.timer.unref()
  }

  stop(): void {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
    if (this.tty) process.stderr.write('\n')
  }
}
