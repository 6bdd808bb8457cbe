import { ev } from '@chatapp/domain/testing'
import t from 'tap'
import { redactForReplay } from '../../src/feed/redact.js'

const G = 'c_redact001'
const A = 'u_aaaaaaaa'

t.test('a replay sends only the latest edit of a message: earlier texts stay in the log', async (t) => {
  // Message 5 edited at 7 and 9 (latest); message 6 edited once at 8.
  const edited = new Map([
    [5, 9],
    [6, 8],
  ])
  const none = new Set<number>()
  t.equal(redactForReplay(none, edited, 7, ev.edited(G, A, 5, 'first fix')), 'skip', 'superseded')
  t.equal(
    redactForReplay(none, edited, 9, ev.edited(G, A, 5, 'second fix')),
    undefined,
    'the latest, as stored',
  )
  t.equal(redactForReplay(none, edited, 8, ev.edited(G, A, 6, 'only fix')), undefined)
  t.equal(
    redactForReplay(none, new Map(), 8, ev.edited(G, A, 6, 'unknown to the state')),
    undefined,
    'an edit the state does not know of (folded before it): as stored',
  )
  t.equal(
    redactForReplay(new Set([5]), edited, 9, ev.edited(G, A, 5, 'x')),
    'skip',
    'of a deleted message: never',
  )
  t.equal(redactForReplay(none, edited, 5, ev.message(G, A, 1)), undefined, 'messages are untouched')
})
