/**
 * Whether an upgrade comes from a page this gateway served: the `Origin`'s host and port are the
 * `Host` the request was sent to. Browsers set both and scripts cannot forge either, so a page of
 * another site (cross-site WebSocket hijacking) never passes; the web app served at `/` always
 * does, whatever `ALLOWED_ORIGINS` lists. A non-browser client could forge both, but it could
 * forge any allowed Origin as well: the check only ever protects browsers.
 */
export const sameOrigin = (origin: string, host: string): boolean => {
  if (origin === '' || host === '') return false
  try {
    const u = new URL(origin)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false
    return u.host === host.toLowerCase() || u.host === defaultPortless(u.protocol, host.toLowerCase())
  } catch {
    return false
  }
}

/** `Host: example.com:443` from an https page whose Origin omits the default port. */
const defaultPortless = (protocol: string, host: string): string =>
  (protocol === 'https:' && host.endsWith(':443')) || (protocol === 'http:' && host.endsWith(':80'))
    ? host.slice(0, host.lastIndexOf(':'))
    : host
