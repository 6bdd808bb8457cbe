/**
 * Hostile client frames for the fuzz run (pure, seeded: the same seed gives the same frames, so a
 * failure can be replayed). Most frames are valid frames with one to three things broken; some
 * are valid sends whose text is the kind of string a view or a client chokes on (NUL, bidi
 * controls, lone surrogates, the longest allowed text); the rest is structural garbage, binary
 * frames and the odd frame over the size limit.
 *
 * A frame is *tracked* when it is a JSON object whose `rid` the fuzzer left a valid request id:
 * the protocol promises an answer carrying that `rid` (ADR 0080's "every error answers its
 * request"), and the run checks it gets one.
 */

export interface FuzzContext {
  /** Conversations the fuzzing user is a member of. */
  conversationIds: readonly string[]
  /** Users that exist (peers, group members). */
  userIds: readonly string[]
  /** The largest frame the gateway accepts (`maxFrameBytes`). */
  maxFrameBytes: number
  /** The longest text the gateway accepts (`maxTextLength`). */
  maxTextLength: number
}

export type FuzzKind = 'hostile-send' | 'mutated' | 'garbage' | 'binary' | 'oversize' | 'untracked'

export interface FuzzFrame {
  kind: FuzzKind
  data: string | Uint8Array
  /** Set when an answer with this rid is owed. */
  rid?: string
  /** The frame must close the socket with this code (oversize frames: 1009). */
  closes?: number
}

/** mulberry32: small, fast and good enough to pick mutations. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Strings that break views, terminals, JSON encoders or naive length checks. */
export const HOSTILE_TEXTS: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '\u202e\u0644\u0627txt.exe',
  '\u2066isolate\u2069\u200f',
  '\ud800',
  'tail\udfff',
  '\ud83d\ude00\u200d\ud83d\udc69\u200d\ud83d\udc67',
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301',
  '\u0007\u001b[2J\u001b[31mred',
  '\ufeffbom',
  '\uffff\ufffe',
  '<script>alert(1)</script>',
  "'; DROP TABLE messages; --",
  '%00%0d%0a',
  '\r\n\r\nHTTP/1.1 200 OK\r\n',
  '{"__proto__":{"polluted":true}}',
  ' ',
  '',
]

const WRONG_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53 + 2,
  1e308,
  -1e308,
  '',
  '\u0000',
  'x'.repeat(300),
  [],
  {},
  [1, 2, 3],
  { $gt: '' },
  '../../etc/passwd',
  'NaN',
]

const TYPES = [
  'auth',
  'sync',
  'send',
  'receipt',
  'typing',
  'presence.subscribe',
  'direct.open',
  'group.create',
  'group.add',
  'group.remove',
  'group.promote',
  'group.demote',
  'group.leave',
  'group.rename',
  'group.invite.accept',
  'group.invite.decline',
  'ping',
] as const

export const createFuzzer = (seed: number, ctx: FuzzContext) => {
  const r = prng(seed)
  const int = (n: number) => Math.floor(r() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const conv = () => (r() < 0.85 && ctx.conversationIds.length ? pick(ctx.conversationIds) : `d_${int(1e9)}`)
  const user = () => (r() < 0.85 && ctx.userIds.length ? pick(ctx.userIds) : `u_${int(1e9)}`)
  const text = () => {
    const t = r() < 0.1 ? 'x'.repeat(ctx.maxTextLength) : pick(HOSTILE_TEXTS) + pick(HOSTILE_TEXTS)
    return t
  }
  let counter = 0
  const clientMsgId = () => `fuzz_${seed.toString(36)}_${(counter++).toString(36)}`

  /** A valid frame of the given type (as far as shape goes; the server decides authorisation). */
  const valid = (type: (typeof TYPES)[number], rid: string): Record<string, unknown> => {
    switch (type) {
      case 'auth':
        return { type, token: 'eyJhbGciOiJub25lIn0.e30.' }
      case 'sync':
        return { type, rid, cursors: { [conv()]: int(10) }, tail: int(5) }
      case 'send':
        return { type, rid, conversationId: conv(), clientMsgId: clientMsgId(), kind: 'text', text: text() }
      case 'receipt':
        return { type, conversationId: conv(), kind: r() < 0.5 ? 'delivered' : 'read', upTo: int(1e6) }
      case 'typing':
        return { type, conversationId: conv(), active: r() < 0.5 }
      case 'presence.subscribe':
        return { type, rid, userIds: [user(), user()] }
      case 'direct.open':
        return { type, rid, peerId: user() }
      case 'group.create':
        return { type, rid, title: text().slice(0, 100) || 't', memberIds: [user()] }
      case 'group.leave':
      case 'group.invite.accept':
      case 'group.invite.decline':
        return { type, rid, conversationId: conv() }
      case 'group.rename':
        return { type, rid, conversationId: conv(), title: text().slice(0, 100) || 't' }
      case 'ping':
        return { type, rid }
      default:
        return { type, rid, conversationId: conv(), userId: user() }
    }
  }

  /** One to three breakages of a valid frame; `rid` survives unless a breakage hits it. */
  const mutate = (f: Record<string, unknown>): Record<string, unknown> => {
    const keys = Object.keys(f)
    for (let i = 1 + int(3); i > 0; i--) {
      const k = pick(keys)
      switch (int(6)) {
        case 0:
          delete f[k]
          break
        case 1:
          f[k] = pick(WRONG_VALUES)
          break
        case 2:
          f[`extra${int(3)}`] = pick(WRONG_VALUES)
          break
        case 3:
          f.type = r() < 0.5 ? `${String(f.type)}x` : pick(WRONG_VALUES)
          break
        case 4:
          f[k] = typeof f[k] === 'string' ? pick(HOSTILE_TEXTS) : pick(WRONG_VALUES)
          break
        default:
          f.__proto__x = { polluted: true }
          Object.assign(f, JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'))
      }
    }
    return f
  }

  const garbage = (rid: string): FuzzFrame => {
    switch (int(9)) {
      case 0:
        return { kind: 'garbage', data: `{"type":"send","rid":"${rid}",` }
      case 1:
        return { kind: 'garbage', data: JSON.stringify([{ type: 'ping', rid }]) }
      case 2:
        return { kind: 'garbage', data: String(int(1e9)) }
      case 3:
        return { kind: 'garbage', data: 'null' }
      case 4: {
        const depth = 1 + int(Math.floor(ctx.maxFrameBytes / 2) - 16)
        return { kind: 'garbage', data: '['.repeat(depth) + ']'.repeat(depth) }
      }
      case 5:
        return { kind: 'garbage', data: pick(HOSTILE_TEXTS) }
      case 6:
        // A JSON object with a rid but no type: still owed an answer.
        return { kind: 'garbage', data: JSON.stringify({ rid }), rid }
      case 7:
        return r() < 0.5
          ? { kind: 'garbage', data: JSON.stringify({ type: 12, rid }), rid }
          : // A real `__proto__` key (JSON.stringify would never write one).
            { kind: 'garbage', data: `{"type":"ping","rid":"${rid}","__proto__":{"polluted":true}}`, rid }
      default:
        return { kind: 'garbage', data: `{"type":"ping","rid":"${rid}","a":${'9'.repeat(400)}}`, rid }
    }
  }

  return {
    next(rid: string): FuzzFrame {
      const roll = r()
      if (roll < 0.0005) {
        return {
          kind: 'oversize',
          data: JSON.stringify({ type: 'ping', pad: 'x'.repeat(ctx.maxFrameBytes) }),
          closes: 1009,
        }
      }
      if (roll < 0.06) {
        const f = valid('send', rid)
        return { kind: 'hostile-send', data: JSON.stringify(f), rid }
      }
      if (roll < 0.1) {
        const bytes = new Uint8Array(1 + int(256))
        for (let i = 0; i < bytes.length; i++) bytes[i] = int(256)
        return {
          kind: 'binary',
          data: r() < 0.5 ? bytes : new TextEncoder().encode(JSON.stringify({ type: 'ping', rid })),
        }
      }
      if (roll < 0.3) return garbage(rid)
      const type = pick(TYPES)
      const f = valid(type, rid)
      if (type === 'receipt' || type === 'typing' || type === 'auth') {
        return { kind: 'untracked', data: JSON.stringify(roll < 0.5 ? mutate(f) : f) }
      }
      const m = mutate(f)
      // Only a rid the fuzzer left intact (a string of 1–64 characters) is owed an answer.
      const owed = m.rid === rid
      return { kind: 'mutated', data: JSON.stringify(m), ...(owed ? { rid } : {}) }
    },
  }
}
