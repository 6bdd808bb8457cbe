import t from 'tap'
import { COMMON_PASSWORDS, checkPassword, normalizePassword } from '../../src/accounts/password-policy.js'

t.test('accepts a long uncommon password, with no composition rules', async (t) => {
  t.same(checkPassword('correct horse battery staple', 'alice'), { ok: true })
  t.same(checkPassword('zebra-kettle-mango', 'alice'), { ok: true })
})

t.test('counts code points, not UTF-16 units', async (t) => {
  // 7 emoji are 14 UTF-16 units but 7 characters: too short.
  t.match(checkPassword('🐱🐶🐭🐹🐰🦊🐻', 'alice'), { ok: false, reason: /at least 8/ })
  t.same(checkPassword('🐱🐶🐭🐹🐰🦊🐻🐼', 'alice'), { ok: true })
})

t.test('refuses passwords too short or too long', async (t) => {
  t.match(checkPassword('Tr0ub4d', 'alice'), { ok: false, reason: /at least 8/ })
  t.same(checkPassword(`${'x'.repeat(255)}y`, 'alice'), { ok: true })
  t.match(checkPassword('xy'.repeat(129), 'alice'), { ok: false, reason: /at most 256/ })
})

t.test('refuses common passwords whatever their case', async (t) => {
  for (const p of [
    'password',
    'PassWord1',
    'QWERTY123',
    'iloveyou',
    '12345678',
    'letmein!',
    'dragon2024',
    'zaq12wsx',
  ]) {
    t.match(checkPassword(p, 'alice'), { ok: false, reason: /too common/ }, p)
  }
  // The list is data from @zxcvbn-ts/language-common (pinned), not code of ours.
  t.ok(COMMON_PASSWORDS.size >= 40_000, `${COMMON_PASSWORDS.size} entries`)
  for (const p of COMMON_PASSWORDS) if (p !== p.toLowerCase()) t.fail(`not lower-case: ${p}`)
})

t.test('refuses what guessers derive from a common password first', async (t) => {
  for (const p of [
    'sunshine123456', // a common word and digits
    'Monkey2024!', // …and a symbol
    'p@55w0rd', // look-alike characters
    'P@ssword123', // both
    'adminadmin', // one block repeated
    '12341234',
    'abcdefghij', // a run
    '9876543210',
  ]) {
    t.equal(checkPassword(p, 'alice').ok, false, p)
  }
})

t.test('accepts passphrases and common words with enough of their own around them', async (t) => {
  for (const p of [
    'violet harbour tangent',
    'monkey83749261847', // more than a guesser's suffix
    'Tr0ub4dor&3x',
    'sunshine-river-kettle',
    'lantern-orchard-93',
    'amber lantern quietly',
  ]) {
    t.same(checkPassword(p, 'alice'), { ok: true }, p)
  }
})

t.test('refuses one repeated character and passwords containing the username', async (t) => {
  t.match(checkPassword('kkkkkkkkkkkk', 'alice'), { ok: false, reason: /repeated/ })
  t.match(checkPassword('my-Alice.name-2024', 'alice'), { ok: false, reason: /username/ })
})

t.test('normalises to NFKC, so composed and decomposed accents are one password', async (t) => {
  t.equal(normalizePassword('caf\u00e9-tr\u00e8s-bien'), normalizePassword('cafe\u0301-tre\u0300s-bien'))
  t.equal(normalizePassword('ｐａｓｓ１２３'), 'pass123')
})
