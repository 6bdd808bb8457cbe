import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { localHaproxyConfig, PRODUCTION_HAPROXY_CONFIG } from '../../src/cluster/haproxy.js'
import { findExecutable } from '../../src/system-packages.js'

const production = readFileSync(PRODUCTION_HAPROXY_CONFIG, 'utf8')
const backends = [
  { name: 'gateway-1', port: 18001, opsPort: 18002 },
  { name: 'gateway-2', port: 18003, opsPort: 18004 },
]

t.test('the local haproxy config is the production one with only the local parts changed', async (t) => {
  const local = localHaproxyConfig(production, 18000, backends, 20_000)
  const differs = (a: string, b: string) => a.split('\n').filter((l) => !b.split('\n').includes(l))
  t.same(differs(local, production), [
    '    maxconn 9500',
    '    bind 127.0.0.1:18000',
    '    http-request set-header X-Forwarded-Proto http',
    '    server gateway-1 127.0.0.1:18001 check port 18002',
    '    server gateway-2 127.0.0.1:18003 check port 18004',
  ])
  t.same(
    differs(production, local).map((l) => l.trim().split(/\s+/)[0]),
    ['maxconn', 'bind', 'http-request', 'server', 'server', 'server'],
    'what production has instead: its limit, TLS bind, https header and servers',
  )
  t.match(local, /option redispatch 1/)
  t.match(local, /option forwardfor/)
  t.notMatch(localHaproxyConfig(production, 18000, backends), /maxconn 9500/, 'no cap without a limit')
})

t.test('a production config of another shape is refused, not half-adapted', async (t) => {
  t.throws(() => localHaproxyConfig(production.replace(/^\s*bind .*$/m, ''), 1, backends), /changed shape/)
})

t.test(
  'haproxy accepts the local config',
  { skip: !findExecutable('haproxy') && 'haproxy is not installed' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chatapp-haproxy-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'haproxy.cfg')
    writeFileSync(file, localHaproxyConfig(production, 18000, backends, 20_000))
    const out = execFileSync(findExecutable('haproxy')!, ['-c', '-f', file], { encoding: 'utf8' })
    t.match(out, /Configuration file is valid/)
  },
)
