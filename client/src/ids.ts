import { randomBytes } from 'node:crypto'

/**
 * A fresh clientMsgId: 16 random bytes, base64url (22 characters of `[A-Za-z0-9_-]`), which
 * satisfies the contracts' ClientMsgId pattern. Random rather than a counter so two devices or a
 * restarted app never reuse one (the server de-duplicates by it).
 */
export const newClientMsgId = (): string => randomBytes(16).toString('base64url')
