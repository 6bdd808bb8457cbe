import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const MODULE = fileURLToPath(new URL('../dist/system-packages.js', import.meta.url))

/**
 * A package installed on the way (haproxy, the first time the cluster test runs on a fresh
 * machine) must not write to stdout: in a test, stdout is the TAP stream. apt's progress lines
 * there once turned the cluster test into "1..0 # no tests found", a skip that CI counted as a
 * pass. A stand-in `apt-get` first on PATH prints as apt does and installs a command.
 */
t.test(
  'installing a missing command writes nothing to stdout, apt output goes to stderr',
  { skip: process.getuid?.() !== 0 && 'apt is used as root only' },
  (t) => {
    const bin = mkdtempSync(join(tmpdir(), 'fake-apt-'))
    t.teardown(() => rmSync(bin, { recursive: true, force: true }))
    const command = `chatapp-fake-${process.pid}`
    writeFileSync(
      join(bin, 'apt-get'),
      [
        '#!/bin/sh',
        'echo "Selecting previously unselected package fake-pkg."',
        'if [ "$1" = install ]; then',
        `  printf '#!/bin/sh\\n' > "${join(bin, command)}"`,
        `  chmod +x "${join(bin, command)}"`,
        'fi',
      ].join('\n'),
    )
    chmodSync(join(bin, 'apt-get'), 0o755)
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { ensureCommand } = await import(${JSON.stringify(MODULE)});
       console.log('RESULT ' + ensureCommand(${JSON.stringify(command)}, 'fake-pkg', (m) => console.error(m)))`,
      ],
      { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' },
    )
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stdout, `RESULT ${join(bin, command)}\n`, 'stdout holds only what the caller printed')
    t.match(r.stderr, /Selecting previously unselected package fake-pkg/, "apt's output is on stderr")
    t.end()
  },
)
