import type { LatencySummary } from '../core/latency.js'
import type { RunResult, TimelinePoint } from '../core/result.js'
import { renderTable } from './table.js'

/** A self-contained HTML report: inline SVG, no script, no external resource. */

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const PCTS = ['p50', 'p95', 'p99', 'max'] as const
const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1']

/** Horizontal bars on a log scale: latencies of the system and its ceilings span 3-4 decades. */
export const latencyChart = (series: { name: string; l: LatencySummary }[]): string => {
  const rows = series.filter((s) => s.l.count > 0)
  if (rows.length === 0) return ''
  const left = 290
  const width = 900
  const barH = 7
  const rowH = PCTS.length * barH + 12
  const height = rows.length * rowH + 40
  const values = rows.flatMap((s) => PCTS.map((p) => Math.max(0.01, s.l[p])))
  const lo = Math.floor(Math.log10(Math.min(...values)))
  const hi = Math.ceil(Math.log10(Math.max(...values)) + 0.01)
  const x = (v: number) => left + ((Math.log10(Math.max(0.01, v)) - lo) / (hi - lo)) * (width - left - 20)
  const parts: string[] = []
  for (let d = lo; d <= hi; d++) {
    const xx = x(10 ** d)
    parts.push(`<line x1="${xx}" y1="10" x2="${xx}" y2="${height - 20}" stroke="#ddd"/>`)
    parts.push(`<text x="${xx}" y="${height - 5}" font-size="11" text-anchor="middle">${10 ** d} ms</text>`)
  }
  rows.forEach((s, i) => {
    const y0 = 10 + i * rowH
    parts.push(
      `<text x="${left - 8}" y="${y0 + rowH / 2}" font-size="12" text-anchor="end">${escapeHtml(s.name)}</text>`,
    )
    PCTS.forEach((p, j) => {
      const y = y0 + j * barH
      const w = Math.max(1, x(s.l[p]) - left)
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 1}" fill="${COLORS[j]}"><title>${escapeHtml(`${s.name} ${p} ${s.l[p]} ms`)}</title></rect>`,
      )
    })
  })
  const legend = PCTS.map((p, j) => `<span style="color:${COLORS[j]}">■</span> ${p}`).join(' &nbsp; ')
  return `<p>${legend} (log scale)</p><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img">${parts.join('')}</svg>`
}

/** Sent and delivered per second over time, one polyline per phase and measure. */
export const throughputChart = (series: { name: string; points: TimelinePoint[] }[]): string => {
  const withData = series.filter((s) => s.points.length > 0)
  if (withData.length === 0) return ''
  const width = 900
  const height = 300
  const pad = { l: 60, r: 20, t: 10, b: 30 }
  const tMax = Math.max(1, ...withData.flatMap((s) => s.points.map((p) => p.t)))
  const vMax = Math.max(1, ...withData.flatMap((s) => s.points.flatMap((p) => [p.sent, p.delivered])))
  const x = (t: number) => pad.l + (t / tMax) * (width - pad.l - pad.r)
  const y = (v: number) => height - pad.b - (v / vMax) * (height - pad.t - pad.b)
  const parts: string[] = [
    `<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#888"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#888"/>`,
    `<text x="${pad.l - 5}" y="${pad.t + 10}" font-size="11" text-anchor="end">${Math.round(vMax)}</text>`,
    `<text x="${pad.l - 5}" y="${height - pad.b}" font-size="11" text-anchor="end">0</text>`,
    `<text x="${width - pad.r}" y="${height - 8}" font-size="11" text-anchor="end">${tMax} s</text>`,
  ]
  const legend: string[] = []
  withData.forEach((s, i) => {
    for (const [k, dash] of [
      ['delivered', ''],
      ['sent', ' stroke-dasharray="4 3"'],
    ] as const) {
      const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p[k]).toFixed(1)}`).join(' ')
      const color = COLORS[(2 * i + (k === 'sent' ? 1 : 0)) % COLORS.length]
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${pts}"/>`)
      legend.push(`<span style="color:${color}">■</span> ${escapeHtml(`${s.name} ${k}/s`)}`)
    }
  })
  return `<p>${legend.join(' &nbsp; ')}</p><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img">${parts.join('')}</svg>`
}

export const renderHtml = (r: RunResult): string => {
  const latency: { name: string; l: LatencySummary }[] = []
  for (const p of r.phases) {
    latency.push({ name: `${p.name} send→sent`, l: p.sendToSent })
    latency.push({ name: `${p.name} send→delivered`, l: p.sendToDelivered })
    if (p.toLastMember) latency.push({ name: `${p.name} send→last member`, l: p.toLastMember })
  }
  if (r.ceilings.jetstream) {
    latency.push({ name: 'ceiling JetStream publish (1 in flight)', l: r.ceilings.jetstream.floor })
    latency.push({
      name: `ceiling JetStream publish (${r.ceilings.jetstream.window} in flight)`,
      l: r.ceilings.jetstream.atMax,
    })
  }
  if (r.ceilings.wsEcho) latency.push({ name: 'ceiling uWS echo RTT', l: r.ceilings.wsEcho.rtt })
  const title = `Chatapp benchmark: ${r.scenario}, ${r.startedAt}`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:12px}
.fail{color:#b00;font-weight:bold}.pass{color:#080;font-weight:bold}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="${r.failures.length === 0 ? 'pass' : 'fail'}">${r.failures.length === 0 ? 'PASS: nothing lost, duplicated or reordered' : `FAIL: ${escapeHtml(r.failures.join('; '))}`}</p>
<h2>Latency percentiles</h2>${latencyChart(latency)}
<h2>Throughput over time</h2>${throughputChart(r.phases.map((p) => ({ name: p.name, points: p.timeline })))}
<h2>Summary</h2><pre>${escapeHtml(renderTable(r))}</pre>
<h2>Parameters</h2><pre>${escapeHtml(JSON.stringify(r.parameters, null, 2))}</pre>
</body></html>
`
}
