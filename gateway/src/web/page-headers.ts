/**
 * Headers of the web app's page. The Content Security Policy allows only this origin's own
 * scripts, styles and connections (`'self'` covers the same-origin WebSocket), images and media
 * from `blob:` (downloads are fetched with the access token and shown as object URLs) and
 * `data:` (the blurred placeholders travel as data URLs); no inline script, no eval (the bundle
 * replaces TypeBox's compiler), no framing, no plugins, no form posts elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ')

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // The microphone records voice notes on this origin only; nothing else is asked for.
  'permissions-policy': 'microphone=(self), camera=(), geolocation=(), payment=()',
}
