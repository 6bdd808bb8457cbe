import type { Msg, MsgHdrs } from '@nats-io/nats-core'

/**
 * NATS headers on the hot path without nats.js's `MsgHdrs`.
 *
 * Why: nats.js decodes a received message's header block into a MsgHdrsImpl on first access, and
 * every `append` inside it canonicalises the key and re-scans all keys so far; every `get` lists
 * the keys again. A live event carries about eight headers (the writer's and RePublish's), so
 * reading three of them was ~16 % of everything the gateway allocated per message, and building
 * four for an append another ~10 % (`direct --rate 2500 --profile DIR --allocations`). Here a
 * block is read by searching its text, and an append's block is encoded once.
 */

const encoder = new TextEncoder()
const HEADER_LINE = /[\r\n]/
const BAD_NAME = /[\r\n:\s]/

/** A header block to publish with, encoded once: what `publish` needs of a MsgHdrs is `encode()`. */
export interface EncodedHeaders {
  readonly block: Uint8Array
  encode(): Uint8Array
}

/**
 * `NATS/1.0\r\nName: value\r\n…\r\n\r\n` for `pairs`, in order. Throws, as nats.js does, on a
 * name or value that would break the block.
 */
export const encodeHeaders = (pairs: readonly (readonly [name: string, value: string])[]): EncodedHeaders => {
  let s = 'NATS/1.0'
  for (const [name, value] of pairs) {
    if (name.length === 0 || BAD_NAME.test(name)) throw new Error(`bad header name ${JSON.stringify(name)}`)
    if (HEADER_LINE.test(value)) throw new Error(`header ${name}: values cannot contain \\r or \\n`)
    s += `\r\n${name}: ${value.trim()}`
  }
  const block = encoder.encode(`${s}\r\n\r\n`)
  return { block, encode: () => block }
}

/** What nats.js's publish takes as `headers`: it calls `encode()` on it and nothing else. */
export const asPublishHeaders = (h: EncodedHeaders): MsgHdrs => h as unknown as MsgHdrs

interface RawMsg {
  _rdata?: Uint8Array
  _msg?: { hdr?: number }
}

/**
 * The header block of a received message as text ('' when it has none). Read from nats.js's
 * message internals (`_rdata`, `_msg.hdr`: nats-core 3.x); if they are not there, rebuilt from
 * `msg.headers`, so a change inside nats.js costs speed, not correctness.
 */
export const headerText = (msg: Msg): string => {
  const raw = msg as unknown as RawMsg
  const hdr = raw._msg?.hdr
  if (raw._rdata instanceof Uint8Array && typeof hdr === 'number') {
    if (hdr <= 0) return ''
    return Buffer.from(raw._rdata.buffer, raw._rdata.byteOffset, hdr).toString('utf8')
  }
  const h = msg.headers
  if (!h) return ''
  let s = 'NATS/1.0'
  for (const k of h.keys()) s += `\r\n${k}: ${h.get(k)}`
  return `${s}\r\n\r\n`
}

/** The first value of header `name` (exact name, as nats.js's default match) in a header block, or undefined. */
export const headerValue = (text: string, name: string): string | undefined => {
  const key = `\r\n${name}:`
  const at = text.indexOf(key)
  if (at < 0) return undefined
  const from = at + key.length
  const end = text.indexOf('\r\n', from)
  return text.slice(from, end < 0 ? undefined : end).trim()
}
