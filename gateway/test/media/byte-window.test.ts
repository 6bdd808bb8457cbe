import { Readable } from 'node:stream'
import t from 'tap'
import { byteWindow } from '../../src/media/byte-window.js'

const source = (chunks: string[]) => {
  const s = Readable.from(chunks.map((c) => Buffer.from(c)))
  let destroyed = false
  s.on('close', () => {
    destroyed = true
  })
  return { s, destroyed: () => destroyed }
}
const read = async (r: Readable) => {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(c as Buffer)
  return Buffer.concat(parts).toString()
}

t.test('passes exactly the window, across chunk edges, and releases the source', async (t) => {
  const a = source(['abc', 'defg', 'hij'])
  t.equal(await read(byteWindow(a.s, 2, 6)), 'cdefgh')
  t.ok(a.destroyed(), 'the rest of the source is not read')
  t.equal(await read(byteWindow(source(['abc']).s, 0, 1)), 'a')
  t.equal(await read(byteWindow(source(['abc']).s, 0, 0)), '')
  t.equal(await read(byteWindow(source(['ab', 'c']).s, 0, 3)), 'abc')
})

t.test('ends short when the source does, and passes on its errors', async (t) => {
  t.equal(await read(byteWindow(source(['ab']).s, 1, 5)), 'b')
  const failing = new Readable({
    read() {
      this.destroy(new Error('store went away'))
    },
  })
  await t.rejects(read(byteWindow(failing, 0, 5)), /store went away/)
})
