import t from 'tap'
import { sameOrigin } from '../../src/session/same-origin.js'

t.test('accepts a page of the gateway itself: same host and port, any default port spelling', async (t) => {
  t.ok(sameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080'))
  t.ok(sameOrigin('https://chat.example', 'chat.example'))
  t.ok(sameOrigin('https://chat.example', 'chat.example:443'))
  t.ok(sameOrigin('http://chat.example', 'CHAT.example:80'))
})

t.test('refuses other sites, other ports, opaque and missing origins', async (t) => {
  t.notOk(sameOrigin('http://evil.example', '127.0.0.1:8080'))
  t.notOk(sameOrigin('http://127.0.0.1:9999', '127.0.0.1:8080'))
  t.notOk(sameOrigin('null', '127.0.0.1:8080'))
  t.notOk(sameOrigin('', '127.0.0.1:8080'))
  t.notOk(sameOrigin('http://127.0.0.1:8080', ''))
  t.notOk(sameOrigin('file:///tmp/x.html', 'tmp'))
  t.notOk(sameOrigin('https://chat.example:443.evil.example', 'chat.example:443'))
})
