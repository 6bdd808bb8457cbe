import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import t from 'tap'
import { repoRoot } from '../src/stack.js'

/**
 * The Node lines `engines` declares are lines every native addon can load on: uWebSockets.js
 * ships one binary per Node ABI (sharp's are N-API, the same on every line). Widening `engines`
 * to Node 22 before the gateway's uWS build has a Node 22 binary fails here (README, Node
 * versions), rather than on a user's machine.
 */
const ABI: Record<number, number> = { 18: 108, 20: 115, 22: 127, 24: 137 }
const engines = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }
).engines.node

t.test('engines declares Node lines, the one running the tests among them', async (t) => {
  const majors = [...engines.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]))
  t.ok(majors.length > 0, `engines.node is a list of ^N.M.P ranges: ${engines}`)
  t.ok(
    majors.includes(Number(process.versions.node.split('.')[0])),
    `Node ${process.versions.node} is declared`,
  )
  t.equal(
    String(process.versions.modules),
    String(ABI[Number(process.versions.node.split('.')[0])]),
    'the ABI table is right',
  )
})

t.test("the gateway's uWebSockets.js has a binary for every declared Node line", async (t) => {
  const require = createRequire(join(repoRoot, 'gateway/package.json'))
  const dir = dirname(require.resolve('uWebSockets.js/package.json'))
  const files = readdirSync(join(dir, 'binaries'))
  for (const major of [...engines.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]))) {
    const want = `uws_${process.platform}_${process.arch}_${ABI[major]}.node`
    t.ok(files.includes(want), `Node ${major}: ${want}`)
  }
})
