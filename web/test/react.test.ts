import t from 'tap'
import { react } from '../src/store.js'

t.test('a member has one reaction per message: a new one replaces it, null removes it', async (t) => {
  let r = react(undefined, 'u_a', '👍')
  r = react(r, 'u_b', '👍')
  t.same([...(r ?? [])], [['👍', ['u_a', 'u_b']]])
  r = react(r, 'u_a', '🎉')
  t.same(
    [...(r ?? [])],
    [
      ['👍', ['u_b']],
      ['🎉', ['u_a']],
    ],
  )
  r = react(react(r, 'u_b', null), 'u_a', null)
  t.equal(r, undefined, 'no reaction left')
})
