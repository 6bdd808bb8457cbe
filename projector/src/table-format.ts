/** Renders rows as an aligned text table for a terminal: pure, so the CLI's output is testable. */
export const renderTable = (columns: readonly string[], rows: readonly (readonly unknown[])[]): string => {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))
  const widths = columns.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

/** A one-line progress bar (for stderr on a TTY). */
export const progressLine = (done: number, total: number, rate: number, width = 30): string => {
  const frac = total > 0 ? Math.min(1, done / total) : 1
  const filled = Math.round(frac * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${done}/${total} events, ${Math.round(rate)} events/s`
}

export const formatAge = (seconds: number): string =>
  seconds === 0
    ? '-'
    : seconds < 60
      ? `${seconds.toFixed(1)}s`
      : seconds < 3600
        ? `${(seconds / 60).toFixed(1)}m`
        : `${(seconds / 3600).toFixed(1)}h`
