import t from 'tap'
import { parseChatArgs, wsUrlOf } from '../src/chat-cli.js'

t.test('parses the options, with defaults for url and device', async (t) => {
  t.same(parseChatArgs(['--user', 'alice', '--password', 'pw', '--to', 'bob', '--register']), {
    ok: true,
    value: {
      url: 'http://127.0.0.1:8080',
      user: 'alice',
      password: 'pw',
      register: true,
      to: 'bob',
      device: 'cli',
    },
  })
})

t.test('refuses missing or unknown options with the usage', async (t) => {
  t.match(parseChatArgs(['--user', 'alice']), { ok: false, error: /usage/ })
  t.match(parseChatArgs(['--user', 'a', '--password', 'p', '--to', 'b', '--bogus']), {
    ok: false,
    error: /bogus/,
  })
})

t.test('derives the WebSocket URL from the HTTP origin', async (t) => {
  t.equal(wsUrlOf('http://127.0.0.1:8080/'), 'ws://127.0.0.1:8080/v1/ws')
  t.equal(wsUrlOf('https://chat.example.org'), 'wss://chat.example.org/v1/ws')
})
