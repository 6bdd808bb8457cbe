import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { type Child, exited, spawnChild, stopChild } from '../src/child.js'
import { freePort, waitFor } from '../src/probe.js'
import { OPS_PORT_VAR, SERVICE_ENTRY, SERVICE_KINDS } from '../src/service-kinds.js'
import { repoRoot } from '../src/stack.js'
import { createTestNamespace } from '../src/test-support.js'
import { exportedNames, metricNames } from './support/promql.js'

const DIR = join(repoRoot, 'infra/deploy/observability')
type Panel = { type: string; title: string; id: number; targets?: { expr: string }[] }
type Rule = {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[] }
const rules = (
  parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] }
).groups.flatMap((g) => g.rules)
/** `200 {…}` when ready; what /readyz said otherwise (which check is down), or why it did not answer. */
const readyzAnswer = async (port: number): Promise<string> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
    return `${r.status} ${await r.text()}`
  } catch (e) {
    return String((e as Error).cause ?? e)
  }
}
/** Series Prometheus makes itself rather than scraping them. */
const PROMETHEUS_OWN = new Set(['up'])

t.test('the PromQL reader finds metric names and nothing else', async (t) => {
  t.same(
    metricNames(
      'sum by (code, le) (rate(ws_errors_total{code=~"UNAVAILABLE|x"}[5m] offset 1h)) / clamp_min(sum(ws_connections), 1e-9) > 0.99 and on (instance) up == 0',
    ).sort(),
    ['up', 'ws_connections', 'ws_errors_total'],
  )
  t.same(
    exportedNames('# HELP a x\n# TYPE a histogram\n# TYPE b_total counter\nb_total 1\n'),
    new Set(['a', 'a_bucket', 'a_sum', 'a_count', 'b_total']),
  )
})

t.test('every panel and alert rule reads at least one metric, and every rule is complete', async (t) => {
  const graphs = dashboard.panels.filter((p) => p.type !== 'row')
  t.ok(graphs.length >= 30)
  t.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique')
  for (const p of graphs)
    for (const target of p.targets ?? [])
      t.ok(metricNames(target.expr).length > 0, `${p.title}: ${target.expr}`)
  for (const r of rules) {
    t.ok(metricNames(r.expr).length > 0, r.alert)
    t.match(r, {
      alert: /^[A-Z][A-Za-z]+$/,
      labels: { severity: /^(critical|warning)$/ },
      annotations: { summary: /\S/ },
    })
  }
  const covered = rules.map((r) => r.expr).join(' ')
  for (const m of [
    'projector_lag_seconds',
    'projector_dead_letters_total',
    'audit_findings',
    'ws_errors_total',
    'ws_opens_total',
    'ws_connections',
    'media_jobs_total',
  ])
    t.match(covered, m, `an alert reads ${m}`)
})

t.test('every metric the dashboard and the alerts name is exported by a real process', async (t) => {
  const tn = await createTestNamespace({ shards: 2 })
  const keys = mkdtempSync(join(tmpdir(), 'chatapp-obs-'))
  const children: Child[] = []
  t.teardown(async () => {
    await Promise.all(children.map((c) => stopChild(c.process, 10_000)))
    await tn.cleanup()
    rmSync(keys, { recursive: true, force: true })
  })
  const ports: Record<string, number> = {}
  const env = {
    ...process.env,
    ...tn.env,
    CHATAPP_ENV_FILE: join(keys, 'none.env'),
    GATEWAY_PORT: String(await freePort()),
    JWT_PRIVATE_KEY_FILE: join(keys, 'jwt.pem'),
    PUSH_VAPID_KEY_FILE: join(keys, 'vapid.pem'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'warn',
  }
  for (const kind of SERVICE_KINDS) {
    ports[kind] = await freePort()
    ;(env as Record<string, string>)[OPS_PORT_VAR[kind]] = String(ports[kind])
  }
  ports.audit = await freePort()
  // Each service's last lines: a start-up that failed says why (the wait once saw only a timeout).
  const output = new Map<string, string[]>()
  const start = (name: string, args: string[]) => {
    const lines: string[] = []
    output.set(name, lines)
    children.push(
      spawnChild({
        name,
        command: process.execPath,
        args,
        env: { ...env, AUDIT_OPS_PORT: String(ports.audit) },
        onLine: (l) => lines.push(l) > 20 && lines.shift(),
      }),
    )
  }
  for (const kind of SERVICE_KINDS) start(kind, [join(repoRoot, SERVICE_ENTRY[kind])])
  start('audit', [join(repoRoot, 'projector/dist/cli.js'), 'audit', '--interval', '5'])
  const exported = new Set(PROMETHEUS_OWN)
  for (const [name, port] of Object.entries(ports)) {
    const child = children.find((c) => c.name === name)!.process
    let answer = 'no answer'
    // Ready, or exited: a service that died fails the wait at once with its output instead of
    // leaving it to time out. Five services start at once here (about 12 CPU-seconds together),
    // beside whatever else the 2 cores run.
    await waitFor(
      `${name} /readyz`,
      async () => {
        if (exited(child))
          throw new Error(
            `${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.get(name)!.join('\n')}`,
          )
        answer = await readyzAnswer(port)
        return answer.startsWith('200 ')
      },
      60_000,
    ).catch((e: Error) => {
      throw e.message.startsWith('timed out')
        ? new Error(`${e.message}; it last answered ${answer}; its output:\n${output.get(name)!.join('\n')}`)
        : e
    })
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    t.match(text, `service="${name}"`, `${name} labels its metrics with its service`)
    for (const m of exportedNames(text)) exported.add(m)
  }
  const named = new Map<string, string>()
  for (const p of dashboard.panels)
    for (const target of p.targets ?? [])
      for (const m of metricNames(target.expr)) named.set(m, `panel "${p.title}"`)
  for (const r of rules) for (const m of metricNames(r.expr)) named.set(m, `alert ${r.alert}`)
  const missing = [...named].filter(([m]) => !exported.has(m)).map(([m, where]) => `${m} (${where})`)
  t.same(missing, [], 'no metric is named that no process exports')
  t.ok(named.size >= 30, `${named.size} metrics named`)
})
