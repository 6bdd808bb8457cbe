import { ERRORS, type ErrorBody, type ErrorCode } from '@chatapp/contracts'

/**
 * Codes the client itself produces. They never travel on the wire, so they are not in the
 * contracts catalogue; each one says whether trying again can help.
 */
export const CLIENT_ERRORS = {
  CLIENT_TIMEOUT: {
    retryable: true,
    meaning:
      'No answer arrived in time (a send: within giveUpAfterMs); the outcome is unknown — a send may be repeated with the same clientMsgId.',
  },
  CLIENT_CLOSED: { retryable: false, meaning: 'The client was closed before the request was answered.' },
  CLIENT_DISCONNECTED: {
    retryable: true,
    meaning: 'The connection dropped before the answer; the outcome is unknown (the command is not resent).',
  },
  OUTBOX_FULL: { retryable: true, meaning: 'Too many unacknowledged requests; wait for some to settle.' },
  SESSION_ENDED: {
    retryable: false,
    meaning: 'The server ended the session for good (close code without reconnect).',
  },
  HANDSHAKE_REFUSED: { retryable: false, meaning: 'The server refused the WebSocket upgrade.' },
  INVALID_CONFIG: {
    retryable: false,
    meaning: 'The URL or the token cannot open a WebSocket (malformed URL, token not a header token).',
  },
} as const

export type ClientOnlyCode = keyof typeof CLIENT_ERRORS
export type ClientErrorCode = ErrorCode | ClientOnlyCode

const isClientOnly = (code: string): code is ClientOnlyCode => Object.hasOwn(CLIENT_ERRORS, code)

/** A refusal from the server (an `error` frame or HTTP error body) or from the client itself. */
export class ChatClientError extends Error {
  readonly code: ClientErrorCode
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined
  readonly details: string[] | undefined

  constructor(
    code: ClientErrorCode,
    message?: string,
    opts: { retryable?: boolean; retryAfterMs?: number; details?: string[]; cause?: unknown } = {},
  ) {
    const spec = isClientOnly(code) ? CLIENT_ERRORS[code] : ERRORS[code]
    super(message ?? spec.meaning, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'ChatClientError'
    this.code = code
    this.retryable = opts.retryable ?? spec.retryable
    this.retryAfterMs = opts.retryAfterMs
    this.details = opts.details
  }

  static fromBody(body: ErrorBody): ChatClientError {
    return new ChatClientError(body.code, body.message, {
      retryable: body.retryable,
      ...(body.retryAfterMs !== undefined ? { retryAfterMs: body.retryAfterMs } : {}),
      ...(body.details !== undefined ? { details: body.details } : {}),
    })
  }
}

export const isChatClientError = (e: unknown): e is ChatClientError => e instanceof ChatClientError
