import { testStack } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { openPool } from '../src/db.js'
import { arrayLiteral, literalParams } from '../src/pg-arrays.js'

const pool = openPool((await testStack()).databaseUrl, 1, createLogger('test', 'silent'))
t.teardown(() => pool.end())

/** What PostgreSQL reads from a literal, cast to `type`. */
const read = async (literal: string, type: string) =>
  (await pool.query({ text: `SELECT $1::${type} AS a`, values: [literal], rowMode: 'array' })).rows[0]![0]

// Text a user can send: every character an array literal treats specially, alone and together.
const hostile = [
  '',
  ' ',
  ' lead',
  'trail ',
  '\t\n\r',
  'NULL',
  'null',
  '"',
  '\\',
  '\\"',
  '"\\',
  '\\\\',
  '{',
  '}',
  '{}',
  ',',
  'a,b',
  '{"a": "b\\"c"}',
  "it's",
  'é ü ß',
  '😀 👍🏽',
  'x'.repeat(20_000),
  '\\x41',
  'a"b"c\\d\\',
]

t.test('strings: PostgreSQL reads back exactly what was sent, NULL included', async (t) => {
  const values = [...hostile, null, ...hostile.map((s) => `${s}${s}`)]
  t.same(await read(arrayLiteral(values)!, 'text[]'), values)
})

t.test('strings: the same literal node-postgres builds', async (t) => {
  const values = [...hostile, null]
  // Sent as the array itself and read back as text: the literal node-postgres made of it.
  const theirs = (await pool.query({ text: 'SELECT $1::text AS a', values: [values], rowMode: 'array' }))
    .rows[0]![0]
  t.equal(arrayLiteral(values), theirs)
})

t.test('numbers, booleans and JSON read back as themselves', async (t) => {
  const ints = [0, -1, 1, 2 ** 53 - 1, -(2 ** 53 - 1), null, 42]
  t.same(
    (await read(arrayLiteral(ints)!, 'int8[]')).map((x: string | null) => (x === null ? null : Number(x))),
    ints,
  )
  t.same(await read(arrayLiteral([1, null, -7])!, 'int4[]'), [1, null, -7])
  t.same(await read(arrayLiteral([true, false, null])!, 'bool[]'), [true, false, null])
  const docs = [{ a: 'b"c\\d', n: [1, 2] }, null, { t: '{}' }]
  const json = docs.map((d) => (d === null ? null : JSON.stringify(d)))
  t.same(await read(arrayLiteral(json)!, 'jsonb[]'), docs)
  t.equal(arrayLiteral([]), '{}')
  t.same(await read(arrayLiteral([])!, 'text[]'), [])
})

t.test('anything but a flat array of scalars is left to node-postgres', async (t) => {
  const nested = [['a'], ['b']]
  const objects = [{ a: 1 }]
  const dates = [new Date(0)]
  const buffers = [Buffer.from('x')]
  for (const v of [nested, objects, dates, buffers]) t.equal(arrayLiteral(v), undefined)
  const params = literalParams(['s', 3, nested, ['a', null], null])
  t.same(params, ['s', 3, nested, '{"a",NULL}', null])
  t.equal(params[2], nested, 'the very array, untouched')
})
