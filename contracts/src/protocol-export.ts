import type { TSchema } from '@sinclair/typebox'
import {
  ArchiveCheckpoint,
  ArchiveProblem,
  ArchiveRecord,
  ArchiveSegmentHeader,
  ArchiveShardStatus,
} from './archive.js'
import { CLOSE_CODES, ERRORS, ErrorBody, type ErrorCode } from './errors.js'
import { DeadLetter, EVENT_SCHEMAS, InvitationNotice, MembershipNotice } from './events.js'
import { CLIENT_FRAMES } from './frames-client.js'
import { SERVER_FRAMES } from './frames-server.js'
import { HTTP_ENDPOINTS } from './http.js'
import { InboxEntry } from './inbox.js'
import { DEFAULT_LIMITS } from './limits.js'
import { MediaJob } from './media.js'
import { MuteSignal, PushJob, PushJobV1, PushNotification, WebhookBody } from './push.js'
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
 * Renders `docs/protocol/`: a JSON Schema per frame, event, body and job, an AsyncAPI 3 document
 * of the WebSocket API and the error catalogue. Pure: path → file text, so a test can compare the
 * committed export with what the schemas say now.
 */

const JSON_SCHEMA_DRAFT = 'https://json-schema.org/draft/2020-12/schema'

// TypeBox schemas are JSON Schema already; JSON.stringify drops its symbol-keyed metadata.
const plain = (s: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(s))
const stringify = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`

export const schemaId = (s: TSchema): string => {
  const id = (s as { $id?: string }).$id
  if (!id) throw new Error('every exported schema needs an $id')
  return id
}

const httpBodies = (): TSchema[] => {
  const seen = new Map<string, TSchema>()
  for (const e of HTTP_ENDPOINTS) {
    for (const s of [e.query, e.request, e.response]) if (s) seen.set(schemaId(s), s)
  }
  return [...seen.values()]
}

const groups: Record<string, readonly TSchema[]> = {
  'client-frames': CLIENT_FRAMES,
  'server-frames': SERVER_FRAMES,
  events: EVENT_SCHEMAS,
  http: [...httpBodies(), ErrorBody, InboxEntry, PushNotification, WebhookBody],
  internal: [
    MediaJob,
    MembershipNotice,
    InvitationNotice,
    DeadLetter,
    TypingSignal,
    PresenceValue,
    PresenceQuery,
    PresenceAnswer,
    PresenceChange,
    GatewayRosterEntry,
    SessionRevocation,
    PushJob,
    PushJobV1,
    MuteSignal,
  ],
  archive: [ArchiveSegmentHeader, ArchiveRecord, ArchiveCheckpoint, ArchiveShardStatus, ArchiveProblem],
}

const asyncApi = () => {
  const message = (s: TSchema) => {
    const p = plain(s)
    return {
      name: schemaId(s),
      title: schemaId(s),
      summary: p.description as string,
      contentType: 'application/json',
      payload: p,
    }
  }
  const messages = Object.fromEntries(
    [...CLIENT_FRAMES, ...SERVER_FRAMES].map((s) => [schemaId(s), message(s)]),
  )
  const ref = (s: TSchema) => ({ $ref: `#/channels/session/messages/${schemaId(s)}` })
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chatapp WebSocket API',
      version: '1.0.0',
      description:
        'JSON frames over one WebSocket per device. Authenticate with the `chatapp.v1` subprotocol plus a `bearer.<token>` subprotocol, or with an `auth` frame within authTimeoutMs. See docs/protocol.md for the state machine and sequence diagrams.',
    },
    servers: {
      local: { host: '127.0.0.1:8080', protocol: 'ws', pathname: '/v1/ws', description: 'make dev' },
    },
    defaultContentType: 'application/json',
    channels: {
      session: {
        address: '/v1/ws',
        title: 'A device session',
        messages: Object.fromEntries(
          Object.entries(messages).map(([k]) => [k, { $ref: `#/components/messages/${k}` }]),
        ),
      },
    },
    operations: {
      receiveClientFrames: {
        action: 'receive',
        channel: { $ref: '#/channels/session' },
        summary: 'Frames a client sends to the gateway.',
        messages: CLIENT_FRAMES.map(ref),
      },
      sendServerFrames: {
        action: 'send',
        channel: { $ref: '#/channels/session' },
        summary: 'Frames the gateway sends to a client.',
        messages: SERVER_FRAMES.map(ref),
      },
    },
    components: { messages },
  }
}

const errorTable = (): string => {
  const rows = (Object.entries(ERRORS) as [ErrorCode, (typeof ERRORS)[ErrorCode]][]).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.retryable ? 'yes' : 'no'} | ${e.meaning} |`,
  )
  const close = Object.entries(CLOSE_CODES).map(
    ([name, c]) => `| ${c.code} | \`${name}\` | ${c.reconnect ? 'yes' : 'no'} | ${c.meaning} |`,
  )
  const limits = Object.entries(DEFAULT_LIMITS).map(([k, v]) => `| \`${k}\` | ${v} |`)
  return [
    '# Error codes, close codes and limits',
    '',
    'Generated from `contracts/` by `make contracts`; do not edit by hand.',
    '',
    '| code | HTTP status | retryable | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '## WebSocket close codes',
    '',
    '| code | name | reconnect | meaning |',
    '| --- | --- | --- | --- |',
    ...close,
    '',
    '## Default limits (announced in `hello`)',
    '',
    '| limit | default |',
    '| --- | --- |',
    ...limits,
    '',
  ].join('\n')
}

export const renderProtocolExport = (): Map<string, string> => {
  const files = new Map<string, string>()
  for (const [group, schemas] of Object.entries(groups)) {
    for (const s of schemas) {
      files.set(
        `json-schema/${group}/${schemaId(s)}.json`,
        stringify({ $schema: JSON_SCHEMA_DRAFT, ...plain(s) }),
      )
    }
  }
  files.set('asyncapi.json', stringify(asyncApi()))
  files.set('errors.md', errorTable())
  return files
}
