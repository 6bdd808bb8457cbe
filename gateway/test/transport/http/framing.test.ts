import t from 'tap'
import { readFraming } from '../../../src/transport/http/framing.js'

t.test('one Content-Length, repeated identically or not at all, frames a body', async (t) => {
  t.same(readFraming({}), { ok: true, length: undefined, chunked: false })
  t.same(readFraming({ 'content-length': '12' }), { ok: true, length: 12, chunked: false })
  t.same(readFraming({ 'content-length': '12, 12' }), { ok: true, length: 12, chunked: false })
  t.same(readFraming({ 'transfer-encoding': 'Chunked' }), { ok: true, length: undefined, chunked: true })
})

t.test('refuses framing a proxy and this server could read differently', async (t) => {
  const cases: [string, Record<string, string>][] = [
    ['different lengths', { 'content-length': '5, 7' }],
    ['a length that is no number', { 'content-length': '+5' }],
    ['an empty length', { 'content-length': '' }],
    ['a hex length', { 'content-length': '0x10' }],
    ['Transfer-Encoding with Content-Length', { 'transfer-encoding': 'chunked', 'content-length': '5' }],
    ['a coding uWS does not decode', { 'transfer-encoding': 'gzip, chunked' }],
    ['an obfuscated coding', { 'transfer-encoding': 'xchunked' }],
  ]
  for (const [label, headers] of cases) t.match(readFraming(headers), { ok: false, problem: /./ }, label)
})
