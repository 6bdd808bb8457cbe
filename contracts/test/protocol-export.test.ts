import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { ERRORS } from '../src/errors.js'
import { CLIENT_FRAMES } from '../src/frames-client.js'
import { renderProtocolExport, schemaId } from '../src/protocol-export.js'

const committed = join(import.meta.dirname, '../../docs/protocol')

t.test('the committed docs/protocol export matches the schemas (run `make contracts` if not)', async (t) => {
  const files = renderProtocolExport()
  for (const [rel, text] of files) {
    const onDisk = await readFile(join(committed, rel), 'utf8').catch(() => undefined)
    t.equal(onDisk, text, `${rel} is current`)
  }
  const present = (await readdir(join(committed, 'json-schema'), { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => relative(committed, join(d.parentPath, d.name)))
  t.same(
    present.filter((p) => !files.has(p)),
    [],
    'no stale schema files',
  )
})

t.test('the AsyncAPI document names every client frame as a message the server receives', async (t) => {
  const doc = JSON.parse(renderProtocolExport().get('asyncapi.json')!)
  t.equal(doc.asyncapi, '3.0.0')
  t.equal(doc.operations.receiveClientFrames.messages.length, CLIENT_FRAMES.length)
  t.ok(doc.components.messages['client.send'].payload.properties.clientMsgId)
})

t.test('the error table lists every code', async (t) => {
  const md = renderProtocolExport().get('errors.md')!
  for (const code of Object.keys(ERRORS)) t.match(md, `\`${code}\``)
})

t.test('an exported schema must have an $id', async (t) => {
  t.throws(() => schemaId(Type.String()), /\$id/)
  t.equal(schemaId(Type.String({ $id: 'X' })), 'X')
})
