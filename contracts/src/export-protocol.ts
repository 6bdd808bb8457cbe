import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { renderProtocolExport } from './protocol-export.js'

/** `make contracts`: writes docs/protocol/ from the schemas, removing files no schema makes any more. */
const out = resolve(process.argv[2] ?? 'docs/protocol')
const files = renderProtocolExport()
await rm(join(out, 'json-schema'), { recursive: true, force: true })
for (const [rel, text] of files) {
  const path = join(out, rel)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, text)
}
const count = (await readdir(out, { recursive: true })).length
console.log(`wrote ${files.size} files to ${out} (${count} entries)`)
