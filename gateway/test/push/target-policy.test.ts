import t from 'tap'
import { originAllowed } from '../../src/push/target-policy.js'
import { signWebhook } from '../../src/push/worker/webhook-transport.js'
import { verifyWebhook } from '../support/webhook-receiver.js'

const allowed = ['https://fcm.googleapis.com', 'https://*.push.apple.com', 'http://127.0.0.1:9999']

t.test('a target URL must be on an allowed origin, HTTPS unless listed as http', async (t) => {
  t.ok(originAllowed('https://fcm.googleapis.com/fcm/send/abc', allowed))
  t.ok(originAllowed('https://web.push.apple.com/QK', allowed), 'a subdomain of a wildcard entry')
  t.notOk(originAllowed('https://push.apple.com.evil.example/x', allowed))
  t.notOk(originAllowed('https://evilpush.apple.com/x', ['https://*.apple.co']))
  t.notOk(originAllowed('http://fcm.googleapis.com/fcm/send/abc', allowed), 'http where https is listed')
  t.notOk(originAllowed('https://fcm.googleapis.com:8443/x', allowed), 'another port')
  t.ok(originAllowed('http://127.0.0.1:9999/hook', allowed))
  t.notOk(originAllowed('http://127.0.0.1:9998/hook', allowed))
  t.notOk(originAllowed('https://user:pw@fcm.googleapis.com/x', allowed), 'credentials in the URL')
  t.notOk(originAllowed('file:///etc/passwd', allowed))
  t.notOk(originAllowed('not a url', allowed))
  t.notOk(originAllowed('https://fcm.googleapis.com/x', []), 'an empty list allows nothing')
})

t.test(
  'a webhook signature verifies with the secret and the exact body only, and not when stale',
  async (t) => {
    const now = Date.now()
    const body = '{"v":1,"id":"x"}'
    const sig = signWebhook('s'.repeat(40), now, body)
    t.ok(verifyWebhook('s'.repeat(40), sig, body, now))
    t.notOk(verifyWebhook('t'.repeat(40), sig, body, now), 'another secret')
    t.notOk(verifyWebhook('s'.repeat(40), sig, `${body} `, now), 'another body')
    t.notOk(verifyWebhook('s'.repeat(40), sig, body, now + 10 * 60_000), 'a replay ten minutes later')
  },
)
