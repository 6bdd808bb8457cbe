import t from 'tap'
import { COMMON_PASSWORDS } from '../../src/accounts/common-passwords.js'
import { checkPassword, normalizePassword } from '../../src/accounts/password-policy.js'

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
  t.ok(COMMON_PASSWORDS.size >= 1000 && COMMON_PASSWORDS.size <= 10_000, `${COMMON_PASSWORDS.size} entries`)
  for (const p of COMMON_PASSWORDS) if (p !== p.toLowerCase()) t.fail(`not lower-case: ${p}`)
})

t.test('refuses one repeated character and passwords containing the username', async (t) => {
  t.match(checkPassword('kkkkkkkkkkkk', 'alice'), { ok: false, reason: /repeated/ })
  t.match(checkPassword('my-Alice.name-2024', 'alice'), { ok: false, reason: /username/ })
})

t.test('normalises to NFKC, so composed and decomposed accents are one password', async (t) => {
  t.equal(normalizePassword('caf\u00e9-tr\u00e8s-bien'), normalizePassword('cafe\u0301-tre\u0300s-bien'))
  t.equal(normalizePassword('ｐａｓｓ１２３'), 'pass123')
})
