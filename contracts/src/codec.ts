import type { Static, TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'
import { type ErrorBody, type ErrorCode, errorBody } from './errors.js'
import { type ChatEvent, EVENT_SCHEMAS, InvitationNotice, MembershipNotice } from './events.js'
import { CLIENT_FRAMES, type ClientFrame } from './frames-client.js'
import { SERVER_FRAMES, type ServerFrame } from './frames-server.js'
import { MediaJob } from './media.js'
import {
  MuteSignal,
  PUSH_JOB_VERSIONS,
  PushJob,
  PushJobV1,
  PushNotification,
  upcastPushJobV1,
  WebhookBody,
} from './push.js'
import {
  GatewayRosterEntry,
  PresenceAnswer,
  PresenceChange,
  PresenceQuery,
  PresenceValue,
  SessionRevocation,
  TypingSignal,
} from './signals.js'

/**
 * Decoding at the edge: bytes in, a typed value or an error value out. Never throws. A refused
 * frame that still carried a string `rid` keeps it, so the error can answer the request.
 */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ErrorBody; rid?: string }

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

/**
 * Characters the service refuses in any string it would store: U+0000 (PostgreSQL's `text`
 * cannot hold it, and one in the log once stopped a projector shard) and UTF-16 surrogates that
 * are not paired (they have no UTF-8 form: a view would hold U+FFFD where the log holds the
 * escape, and the two would differ for ever).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what is refused.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The JSON pointer of the first string (key or value) holding an unstorable character, if any. */
export const unstorablePath = (value: unknown, path = ''): string | undefined => {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path || '/' : undefined
  if (typeof value !== 'object' || value === null) return undefined
  for (const [k, v] of Object.entries(value)) {
    if (UNSTORABLE.test(k)) return `${path}/${k.replace(UNSTORABLE, '?')}`
    const found = unstorablePath(v, `${path}/${k}`)
    if (found !== undefined) return found
  }
  return undefined
}

const unstorable = (value: unknown): ErrorBody | undefined => {
  const at = unstorablePath(value)
  return at === undefined
    ? undefined
    : errorBody('UNSUPPORTED_CHARACTER', undefined, { details: [`${at}: U+0000 or an unpaired surrogate`] })
}

const ridOf = (value: unknown): string | undefined => {
  const rid = (value as { rid?: unknown }).rid
  return typeof rid === 'string' && rid.length > 0 && rid.length <= 64 ? rid : undefined
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
  storable: boolean,
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
  const rid = ridOf(value)
  const refuse = (error: ErrorBody): Decoded<T> =>
    rid === undefined ? { ok: false, error } : { ok: false, error, rid }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') return refuse(errorBody(invalidCode, 'missing string field `type`'))
  const check = checks.get(type)
  if (!check) return refuse(errorBody(unknownCode, `unknown type "${type.slice(0, 64)}"`))
  if (!check.Check(value))
    return refuse(errorBody(invalidCode, `invalid ${type}`, { details: details(check, value) }))
  const bad = storable ? unstorable(value) : undefined
  if (bad) return refuse(bad)
  return { ok: true, value: value as T }
}

/** A client frame; strings the service could not store are refused (UNSUPPORTED_CHARACTER). */
export const decodeClientFrame = (raw: string | Uint8Array | ArrayBuffer): Decoded<ClientFrame> =>
  decodeTagged<ClientFrame>(raw, clientChecks, 'UNKNOWN_FRAME', 'INVALID_FRAME', true)

/** For clients and tests: servers are trusted, but a client library should still refuse garbage. */
export const decodeServerFrame = (raw: string | Uint8Array | ArrayBuffer): Decoded<ServerFrame> =>
  decodeTagged<ServerFrame>(raw, serverChecks, 'UNKNOWN_FRAME', 'INVALID_FRAME', false)

/**
 * Stored events. A future `v: 2` shape is read through an upcaster here, so consumers only ever
 * see the current shape; today every stored event is `v: 1`.
 */
export const decodeEvent = (raw: string | Uint8Array | ArrayBuffer): Decoded<ChatEvent> =>
  decodeTagged<ChatEvent>(raw, eventChecks, 'EVENT_INVALID', 'EVENT_INVALID', false)

const INTEGER = /^-?(0|[1-9][0-9]*)$/
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/

/**
 * A query string's value as its property's schema wants it: only canonical spellings convert
 * (`7` to 7; never `1.5`, `1e2`, ` 7` or `0x10` to an integer), so the check judges what the client
 * wrote rather than what a lenient conversion made of it. Anything else stays a string and fails.
 */
const fromQueryString = (schema: TSchema | undefined, raw: string): unknown => {
  switch ((schema as { type?: unknown } | undefined)?.type) {
    case 'integer':
      return INTEGER.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : raw
    case 'number':
      return DECIMAL.test(raw) ? Number(raw) : raw
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw
    default:
      return raw
  }
}

/**
 * Any other schema (HTTP bodies and queries, jobs, notices, signals). With `storable`, strings the
 * service could not store are refused too (bodies of requests that end up in the log or a view).
 */
export const decoder = <S extends TSchema>(schema: S, opts: { storable?: boolean } = {}) => {
  const check = TypeCompiler.Compile(schema)
  return {
    check: (value: unknown): value is Static<S> => check.Check(value),
    fromValue: (value: unknown, invalidCode: ErrorCode = 'INVALID_REQUEST'): Decoded<Static<S>> => {
      if (!check.Check(value))
        return { ok: false, error: errorBody(invalidCode, undefined, { details: details(check, value) }) }
      const bad = opts.storable ? unstorable(value) : undefined
      return bad ? { ok: false, error: bad } : { ok: true, value: value as Static<S> }
    },
    decode(
      raw: string | Uint8Array | ArrayBuffer,
      invalidCode: ErrorCode = 'INVALID_REQUEST',
    ): Decoded<Static<S>> {
      const parsed = parseJson(raw)
      return parsed.ok ? this.fromValue(parsed.value, invalidCode) : parsed
    },
    /**
     * A URL query (`a=1&b=x`) checked against an object schema: a repeated name is refused, values
     * convert strictly (see `fromQueryString`), and names the schema does not list are refused when
     * it says `additionalProperties: false`.
     */
    fromQuery(raw: string): Decoded<Static<S>> {
      const props = (schema as { properties?: Record<string, TSchema> }).properties ?? {}
      const value: Record<string, unknown> = Object.create(null)
      for (const [k, v] of new URLSearchParams(raw)) {
        if (k in value)
          return {
            ok: false,
            error: errorBody('INVALID_REQUEST', undefined, { details: [`/${k}: given more than once`] }),
          }
        value[k] = fromQueryString(Object.hasOwn(props, k) ? props[k] : undefined, v)
      }
      return this.fromValue(value)
    },
  }
}

export const mediaJobDecoder = decoder(MediaJob)
export const membershipNoticeDecoder = decoder(MembershipNotice)
export const invitationNoticeDecoder = decoder(InvitationNotice)
export const typingSignalDecoder = decoder(TypingSignal)
export const presenceValueDecoder = decoder(PresenceValue)
export const presenceQueryDecoder = decoder(PresenceQuery)
export const presenceAnswerDecoder = decoder(PresenceAnswer)
export const presenceChangeDecoder = decoder(PresenceChange)
export const gatewayRosterEntryDecoder = decoder(GatewayRosterEntry)
export const muteSignalDecoder = decoder(MuteSignal)
const pushJobV2 = decoder(PushJob)
const pushJobV1 = decoder(PushJobV1)

/**
 * A push job of any version a worker reads, as the current shape (v1 jobs queued before an upgrade
 * are upcast). A version it does not know is refused by name, so the worker dead-letters it with
 * that reason instead of guessing (a newer projector ahead of an older worker during a rollout).
 */
export const decodePushJob = (raw: string | Uint8Array | ArrayBuffer): Decoded<PushJob> => {
  const parsed = parseJson(raw)
  if (!parsed.ok) return parsed
  const v = (parsed.value as { v?: unknown } | null)?.v
  if (v === 2) return pushJobV2.fromValue(parsed.value)
  if (v === 1) {
    const d = pushJobV1.fromValue(parsed.value)
    return d.ok ? { ok: true, value: upcastPushJobV1(d.value) } : d
  }
  return {
    ok: false,
    error: errorBody(
      'INVALID_REQUEST',
      `unknown push job version ${JSON.stringify(v) ?? 'undefined'}: this worker reads ${PUSH_JOB_VERSIONS.join(', ')}`,
    ),
  }
}
export const pushNotificationDecoder = decoder(PushNotification)
export const webhookBodyDecoder = decoder(WebhookBody)
export const sessionRevocationDecoder = decoder(SessionRevocation)

export const encodeJson = (value: unknown): Uint8Array => textEncoder.encode(JSON.stringify(value))
