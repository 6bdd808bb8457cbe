/**
 * Matches a method and path against route patterns (`/v1/users/:id`). Pure. Among routes whose
 * pattern matches, the one with the most literal segments wins, so `/v1/users/me` beats
 * `/v1/users/:id` whatever their order. A path that matches with another method is 405, not 404.
 */
export interface RoutePattern {
  readonly method: string
  readonly path: string
}

export type RouteMatch<R> =
  | { kind: 'found'; route: R; params: Record<string, string> }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allow: string[] }

type Segment = { literal: string } | { param: string }

interface Compiled<R> {
  route: R
  segments: Segment[]
  literals: number
}

const SEGMENT = /^(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~-]+)$/

const compile = <R extends RoutePattern>(route: R): Compiled<R> => {
  if (!route.path.startsWith('/')) throw new Error(`route path "${route.path}" must start with /`)
  // `/` is the one path with an empty segment (the site's root page).
  if (route.path === '/') return { route, segments: [{ literal: '' }], literals: 1 }
  const parts = route.path.split('/').slice(1)
  const segments: Segment[] = parts.map((p) => {
    if (!SEGMENT.test(p)) throw new Error(`route path "${route.path}": bad segment "${p}"`)
    return p.startsWith(':') ? { param: p.slice(1) } : { literal: p }
  })
  return { route, segments, literals: segments.filter((s) => 'literal' in s).length }
}

const matchSegments = (segments: Segment[], parts: string[]): Record<string, string> | undefined => {
  if (segments.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!
    const p = parts[i]!
    if ('literal' in s) {
      if (s.literal !== p) return undefined
    } else {
      if (p.length === 0) return undefined
      try {
        params[s.param] = decodeURIComponent(p)
      } catch {
        return undefined // malformed percent-encoding matches nothing
      }
    }
  }
  return params
}

export const createRouter = <R extends RoutePattern>(routes: readonly R[]) => {
  const compiled = routes.map(compile)
  const seen = new Set<string>()
  for (const c of compiled) {
    const key = `${c.route.method} ${c.segments.map((s) => ('literal' in s ? s.literal : ':')).join('/')}`
    if (seen.has(key)) throw new Error(`two routes for ${c.route.method} ${c.route.path}`)
    seen.add(key)
  }
  // Most literal segments first: the first match is the most specific.
  compiled.sort((a, b) => b.literals - a.literals)

  return (method: string, path: string): RouteMatch<R> => {
    const parts = path.split('/').slice(1)
    const allow = new Set<string>()
    for (const c of compiled) {
      const params = matchSegments(c.segments, parts)
      if (!params) continue
      if (c.route.method === method) return { kind: 'found', route: c.route, params }
      allow.add(c.route.method)
    }
    return allow.size > 0 ? { kind: 'method-not-allowed', allow: [...allow].sort() } : { kind: 'not-found' }
  }
}
