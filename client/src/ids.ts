/**
 * A fresh clientMsgId: 16 random bytes, base64url (22 characters of `[A-Za-z0-9_-]`), which
 * satisfies the contracts' ClientMsgId pattern. Random rather than a counter so two devices or a
 * restarted app never reuse one (the server de-duplicates by it). Web Crypto (a global in Node 20
 * and in browsers), so the same code runs in the web app's bundle.
 */
export const newClientMsgId = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
