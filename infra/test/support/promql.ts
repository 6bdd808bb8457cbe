/**
 * The metric names a PromQL expression reads: what the dashboard and alert rules depend on a
 * process exporting. Enough of PromQL for our expressions: strings, label matchers, ranges,
 * grouping clauses and function calls are removed; what is left that looks like a name is one.
 */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
])

export const metricNames = (expr: string): string[] => {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[0-9smhdwy]+/g, ' ')
    // Numbers (1e-9, 0.99, 65536) before names, so an exponent is not read as a name.
    .replace(/(?<![A-Za-z0-9_:])\d+(\.\d+)?(e[+-]?\d+)?/gi, ' ')
  const out = new Set<string>()
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length)
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0])) continue
    out.add(m[0])
  }
  return [...out]
}

/**
 * The series names a `/metrics` text offers, from its `# TYPE` lines (a labelled counter that
 * has not counted yet has no sample, but has its TYPE line): a histogram's `_bucket`, `_sum`
 * and `_count`, a summary's `_sum` and `_count`.
 */
export const exportedNames = (text: string): Set<string> => {
  const out = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, kind] = m as unknown as [string, string, string]
    out.add(name)
    if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(`${name}${s}`)
    if (kind === 'summary') for (const s of ['_sum', '_count']) out.add(`${name}${s}`)
  }
  return out
}
