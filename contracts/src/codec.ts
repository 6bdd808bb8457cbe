import type { Static, TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'
import { type ErrorBody, type ErrorCode, errorBody } from './errors.js'
import { type ChatEvent, EVENT_SCHEMAS, MembershipNotice } from './events.js'
import { CLIENT_FRAMES, type ClientFrame } from './frames-client.js'
import { SERVER_FRAMES, type ServerFrame } from './frames-server.js'
import { MediaJob } from './media.js'

/** Decoding at the edge: bytes in, a typed value or an error value out. Never throws. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ErrorBody }

const MAX_DETAILS = 5
const textDecoder = new TextDecoder('utf-8', { fatal: true })
const textEncoder = new TextEncoder()

const compile = <S extends readonly { properties: { type: { const: string } } }[]>(schemas: S) =>
  new Map<string, TypeCheck<TSchema>>(
    schemas.map((s) => [s.properties.type.const, TypeCompiler.Compile(s as unknown as TSchema)]),
  )

const clientChecks = compile(CLIENT_FRAMES)
const serverChecks = compile(SERVER_FRAMES)
const eventChecks = compile(EVENT_SCHEMAS)

const details = (check: TypeCheck<TSchema>, value: unknown): string[] => {
  const out: string[] = []
  for (const e of check.Errors(value)) {
    out.push(`${e.path || '/'}: ${e.message}`)
    if (out.length >= MAX_DETAILS) break
  }
  return out
}

const parseJson = (raw: string | Uint8Array | ArrayBuffer): Decoded<unknown> => {
  try {
    const text =
      typeof raw === 'string'
        ? raw
        : textDecoder.decode(raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw)
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, error: errorBody('BAD_JSON') }
  }
}

const decodeTagged = <T>(
  raw: string | Uint8Array | ArrayBuffer,
  checks: Map<string, TypeCheck<TSchema>>,
  unknownCode: ErrorCode,
  invalidCode: ErrorCode,
): Decoded<T> => {
  const parsed = parseJson(raw)
  if (!parsed.ok)
    return invalidCode === 'EVENT_INVALID'
      ? { ok: false, error: errorBody('EVENT_INVALID', 'not JSON') }
      : parsed
  const value = parsed.value
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: errorBody(invalidCode, 'expected a JSON object') }
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string')
    return { ok: false, error: errorBody(invalidCode, 'missing string field `type`') }
  const check = checks.get(type)
  if (!check) return { ok: false, error: errorBody(unknownCode, `unknown type "${type.slice(0, 64)}"`) }
  if (!check.Check(value)) {
    return { ok: false, error: errorBody(invalidCode, `invalid ${type}`, { details: details(check, value) }) }
  }
  return { ok: true, value: value as T }
}

export const decodeClientFrame = (raw: string | Uint8Array | ArrayBuffer): Decoded<ClientFrame> =>
  decodeTagged<ClientFrame>(raw, clientChecks, 'UNKNOWN_FRAME', 'INVALID_FRAME')

/** For clients and tests: servers are trusted, but a client library should still refuse garbage. */
export const decodeServerFrame = (raw: string | Uint8Array | ArrayBuffer): Decoded<ServerFrame> =>
  decodeTagged<ServerFrame>(raw, serverChecks, 'UNKNOWN_FRAME', 'INVALID_FRAME')

/**
 * Stored events. A future `v: 2` shape is read through an upcaster here, so consumers only ever
 * see the current shape; today every stored event is `v: 1`.
 */
export const decodeEvent = (raw: string | Uint8Array | ArrayBuffer): Decoded<ChatEvent> =>
  decodeTagged<ChatEvent>(raw, eventChecks, 'EVENT_INVALID', 'EVENT_INVALID')

/** Any other schema (HTTP bodies, jobs, notices). */
export const decoder = <S extends TSchema>(schema: S) => {
  const check = TypeCompiler.Compile(schema)
  return {
    check: (value: unknown): value is Static<S> => check.Check(value),
    fromValue: (value: unknown, invalidCode: ErrorCode = 'INVALID_REQUEST'): Decoded<Static<S>> =>
      check.Check(value)
        ? { ok: true, value: value as Static<S> }
        : { ok: false, error: errorBody(invalidCode, undefined, { details: details(check, value) }) },
    decode(
      raw: string | Uint8Array | ArrayBuffer,
      invalidCode: ErrorCode = 'INVALID_REQUEST',
    ): Decoded<Static<S>> {
      const parsed = parseJson(raw)
      return parsed.ok ? this.fromValue(parsed.value, invalidCode) : parsed
    },
  }
}

export const mediaJobDecoder = decoder(MediaJob)
export const membershipNoticeDecoder = decoder(MembershipNotice)

export const encodeJson = (value: unknown): Uint8Array => textEncoder.encode(JSON.stringify(value))
