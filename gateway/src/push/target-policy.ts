/**
 * Which URLs a push target may name (ADR 0191). The push worker POSTs to whatever a user
 * registered, so an open list would let any user make the server call any address (SSRF): each
 * kind has an allowlist of origins the operator sets. An entry is an origin (`https://host[:port]`)
 * or `https://*.domain` for its subdomains; plain HTTP is accepted only for an origin listed with
 * `http://` exactly (a local relay, a test's push service).
 */
export interface TargetPolicy {
  webPushOrigins: readonly string[]
  webhookOrigins: readonly string[]
}

const parse = (s: string): URL | undefined => {
  try {
    return new URL(s)
  } catch {
    return undefined
  }
}

/** True when `url` is on an origin `allowed` lists (pure). */
export const originAllowed = (url: string, allowed: readonly string[]): boolean => {
  const u = parse(url)
  if (!u) return false
  if (u.username !== '' || u.password !== '' || (u.protocol !== 'https:' && u.protocol !== 'http:'))
    return false
  return allowed.some((entry) => {
    const wildcard = entry.includes('://*.')
    const e = parse(wildcard ? entry.replace('://*.', '://') : entry)
    if (!e || e.protocol !== u.protocol || e.port !== u.port) return false
    return wildcard ? u.hostname.endsWith(`.${e.hostname}`) : u.hostname === e.hostname
  })
}
