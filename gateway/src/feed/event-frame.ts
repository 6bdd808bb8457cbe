import type { Lane } from '@chatapp/contracts'

/**
 * The `event` frame around an event's JSON, built by concatenation: a message fanned out to a
 * room is encoded once, and the stored JSON is passed through as it is (it was decoded and checked
 * when folded). `prev` is the gap proof: on lane `m` the previous accepted `.m` sequence (never a
 * rejected one), on lane `r` the previous receipt event sent to this connection. `rid`, on the
 * sending connection's copy of its own message, answers its send.
 */
export const eventFrame = (
  conversationId: string,
  seq: number,
  prev: number,
  lane: Lane,
  json: string,
  rid?: string,
): string =>
  `{"type":"event","conversationId":"${conversationId}","seq":${seq},"prev":${prev},"lane":"${lane}",${
    rid === undefined ? '' : `"rid":${JSON.stringify(rid)},`
  }"event":${json}}`
