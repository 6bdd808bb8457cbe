import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '@chatapp/infra'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import {
  conversation,
  launch,
  messages,
  otherDevice,
  PASSWORD,
  say,
  signUp,
  type User,
} from '../support/browser.js'
import { startWebStack, type WebStack } from '../support/stack.js'

/**
 * The web app in a real browser against the whole system (gateway serving the page, projector,
 * media worker): people chat 1:1 and in a group, with media, through an outage of one of them.
 * `WEB_SCREENSHOTS=1` also writes the screenshots the README shows (docs/screenshots/).
 */

const shots = process.env.WEB_SCREENSHOTS === '1' ? join(repoRoot, 'docs/screenshots') : undefined
const shoot = async (page: Page, name: string) => {
  if (!shots) return
  mkdirSync(shots, { recursive: true })
  await page.screenshot({ path: join(shots, `${name}.png`) })
}

let stack: WebStack
let browser: Browser
let alice: User
let bob: User
let carol: User
const run = Date.now().toString(36).slice(-5)

t.before(async () => {
  stack = await startWebStack()
  browser = await launch(stack.chromium)
  ;[alice, bob, carol] = await Promise.all([
    signUp(browser, stack.base, `alice_${run}`, 'Alice'),
    signUp(browser, stack.base, `bob_${run}`, 'Bob'),
    signUp(browser, stack.base, `carol_${run}`, 'Carol', { width: 390, height: 760 }),
  ])
})
t.teardown(async () => {
  await browser?.close()
  await stack?.stop()
})

t.test('the gateway serves the page with its CSP and the assets with a year of caching', async (t) => {
  const page = await fetch(`${stack.base}/`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.equal(page.headers.get('cache-control'), 'no-cache')
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/)
  const html = await page.text()
  const js = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1]
  t.ok(js, 'the page names a hashed bundle')
  const asset = await fetch(`${stack.base}${js}`, { headers: { 'accept-encoding': 'br' } })
  t.equal(asset.status, 200)
  t.match(asset.headers.get('content-type'), /^text\/javascript/)
  t.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  await asset.arrayBuffer()
  t.equal((await fetch(`${stack.base}/assets/nope.js`)).status, 404)
})

t.test('two people chat 1:1: Enter sends, Shift+Enter breaks a line, ticks move to read', async (t) => {
  const a = alice.page
  const b = bob.page
  await a.getByRole('button', { name: 'New chat' }).click()
  await a.getByLabel('Username').fill(bob.username)
  await a.getByRole('button', { name: 'Start chat' }).click()
  await a.getByTestId('conversation-title').filter({ hasText: 'Bob' }).waitFor()

  await say(a, 'Hi Bob!')
  const box = a.getByTestId('composer')
  await box.fill('first line')
  await box.press('Shift+Enter')
  await box.pressSequentially('second line')
  await box.press('Enter')
  await messages(a).filter({ hasText: 'second line' }).waitFor()
  t.equal(await box.inputValue(), '', 'the composer is empty after sending')

  // Bob has it in his list, unread, before opening it.
  const inBobsList = conversation(b, 'Alice')
  await inBobsList.getByTestId('unread').filter({ hasText: '2' }).waitFor()
  // Delivered (Bob's page got it) but not read while he has not opened it.
  await a.locator('[data-testid=message][data-tick=delivered]').filter({ hasText: 'Hi Bob!' }).waitFor()
  await inBobsList.click()
  await b.getByTestId('unread-divider').filter({ hasText: '2 unread messages' }).waitFor()
  const multi = messages(b).filter({ hasText: 'second line' })
  await multi.waitFor()
  t.match(
    await multi.locator('.text').textContent(),
    /first line\nsecond line/,
    'Shift+Enter kept the new line',
  )
  await a.locator('[data-testid=message][data-tick=read]').filter({ hasText: 'second line' }).waitFor()
  await inBobsList.getByTestId('unread').waitFor({ state: 'detached' })

  // Typing shows on the other side, in the list and the conversation's header.
  await b.getByTestId('composer').pressSequentially('Hello')
  await a.getByTestId('subtitle').filter({ hasText: 'typing…' }).waitFor()
  await b.getByTestId('composer').fill('')
  await say(b, 'Hello Alice, good to see you here.')
  await messages(a).filter({ hasText: 'good to see you' }).waitFor()
  // Bob is online on Alice's side.
  await conversation(a, 'Bob').getByTestId('online-dot').waitFor()
  await shoot(a, 'chat-desktop')
})

t.test(
  'a reload keeps the session through the HttpOnly cookie and nothing secret is in storage',
  async (t) => {
    const b = bob.page
    await b.reload()
    await conversation(b, 'Alice').waitFor()
    const storage = await b.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))
    t.notMatch(storage, /rt_|eyJ/, 'no refresh or access token in web storage')
    t.notMatch(
      await b.evaluate(() => document.cookie),
      /chatapp_rt/,
      'the refresh cookie is not readable by scripts',
    )
    const cookies = await bob.context.cookies()
    const rt = cookies.find((c) => c.name === 'chatapp_rt')
    t.ok(rt?.httpOnly, 'HttpOnly')
    t.equal(rt?.sameSite, 'Strict')
    t.equal(rt?.path, '/v1/auth/web')
  },
)

/** A one-second H.264 test clip, made by the system's ffmpeg (the media worker needs it anyway). */
const testClip = (): Buffer => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-web-clip-'))
  const out = join(dir, 'clip.mp4')
  const ffmpeg = process.env.FFMPEG_PATH || 'ffmpeg'
  execFileSync(ffmpeg, [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=10',
    '-t',
    '1',
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    out,
  ])
  return readFileSync(out)
}

/** A PNG drawn by the page itself (a canvas), so the test ships no binary. */
const testPhoto = async (page: Page): Promise<Buffer> => {
  const url = await page.evaluate(() => {
    const c = document.createElement('canvas')
    c.width = 640
    c.height = 480
    const g = c.getContext('2d')!
    const grad = g.createLinearGradient(0, 0, 640, 480)
    grad.addColorStop(0, '#0b7a5f')
    grad.addColorStop(1, '#f5c542')
    g.fillStyle = grad
    g.fillRect(0, 0, 640, 480)
    g.fillStyle = '#fff'
    g.font = 'bold 64px sans-serif'
    g.fillText('Chatapp', 170, 260)
    return c.toDataURL('image/png')
  })
  return Buffer.from(url.split(',')[1]!, 'base64')
}

t.test('a group of three shares a photo, a video and a document; ticks reach read', async (t) => {
  const a = alice.page
  await a.getByRole('button', { name: 'New group' }).click()
  await a.getByLabel('Title').fill('Climbing trip')
  await a.getByLabel('Members (usernames, separated by commas)').fill(`${bob.username}, ${carol.username}`)
  await a.getByRole('button', { name: 'Create group' }).click()
  await a.getByTestId('conversation-title').filter({ hasText: 'Climbing trip' }).waitFor()

  await say(a, `Photos from Saturday, @${carol.username}`)
  await a.getByTestId('file-input').setInputFiles([
    { name: 'crag.png', mimeType: 'image/png', buffer: await testPhoto(a) },
    { name: 'route.mp4', mimeType: 'video/mp4', buffer: testClip() },
    { name: 'topo.txt', mimeType: 'text/plain', buffer: Buffer.from('Route 1: 6a\nRoute 2: 6b+\n') },
  ])

  for (const u of [bob, carol]) {
    const p = u.page
    const entry = conversation(p, 'Climbing trip')
    await entry.getByTestId('unread').filter({ hasText: '4' }).waitFor()
    if (u === carol) await entry.getByTestId('mentions').waitFor()
    await entry.click()
    // The display rendition (not the sender's local file) and its poster replace the placeholders.
    await p.locator('[data-testid=photo] img[data-variant=display].loaded').waitFor()
    await p.locator('[data-testid=video][data-state=ready] img.full').waitFor()
    await p.getByTestId('document').filter({ hasText: 'topo.txt' }).waitFor()
  }
  // Carol plays the video: the 720p-bounded rendition in a <video> with its poster.
  await carol.page.getByRole('button', { name: /^Play video/ }).click()
  await carol.page.getByTestId('video-player').waitFor()
  const playable = await carol.page.getByTestId('video-player').evaluate(
    (v: HTMLVideoElement) =>
      new Promise((r) => {
        if (v.readyState >= 1) r(true)
        else v.addEventListener('loadedmetadata', () => r(true))
      }),
  )
  t.ok(playable, 'the video rendition loads in the player')
  // Carol downloads the document, byte for byte.
  const [download] = await Promise.all([
    carol.page.waitForEvent('download'),
    carol.page.getByRole('button', { name: 'Download topo.txt' }).click(),
  ])
  t.equal(readFileSync((await download.path())!, 'utf8'), 'Route 1: 6a\nRoute 2: 6b+\n')

  // Everyone read everything: Alice's last message shows read.
  await a
    .locator('[data-testid=message][data-tick=read]')
    .filter({ has: a.getByTestId('document') })
    .waitFor()
  const title = await a
    .locator('[data-testid=message]')
    .filter({ has: a.getByTestId('document') })
    .getByTestId('tick')
    .getAttribute('title')
  t.match(title, /Bob: read/, 'per-member state on hover')
  t.match(title, /Carol: read/)
  await shoot(a, 'group-media-desktop')
  await shoot(carol.page, 'group-phone')
  await a.emulateMedia({ colorScheme: 'dark' })
  await shoot(a, 'group-media-dark')
  await a.emulateMedia({ colorScheme: 'light' })
})

t.test('a voice note recorded from the microphone arrives with its waveform and plays', async (t) => {
  const b = bob.page
  await conversation(b, 'Climbing trip').click()
  await b.getByRole('button', { name: 'Record a voice note' }).click()
  const stop = b.getByRole('button', { name: 'Stop and send the voice note' })
  await stop.waitFor()
  // Chromium's fake microphone plays a beep: record 0.8 s of it (a duration, not a synchronisation).
  await b.evaluate(() => new Promise((r) => setTimeout(r, 800)))
  await stop.click()
  const a = alice.page
  await conversation(a, 'Climbing trip').click()
  const voice = a.locator('[data-testid=voice][data-state=ready]')
  await voice.waitFor({ timeout: 30_000 })
  const bars = await voice.locator('.wave span').count()
  t.ok(bars > 0, 'the waveform is drawn')
  await voice.getByRole('button', { name: 'Play voice note' }).click()
  await voice.locator('audio[src^="blob:"]').waitFor({ state: 'attached' })
  t.pass('the audio rendition is loaded into the player')
})

t.test(
  'messages written offline go out in order on reconnect, and nothing sent meanwhile is lost',
  async (t) => {
    const a = alice.page
    const b = bob.page
    await conversation(a, 'Bob').click()
    await conversation(b, 'Alice').click()
    await bob.context.setOffline(true)
    await b
      .getByTestId('banner')
      .filter({ hasText: /offline/i })
      .waitFor()
    for (const text of ['offline one', 'offline two', 'offline three']) await say(b, text)
    await b.locator('[data-testid=message][data-tick=pending]').filter({ hasText: 'offline three' }).waitFor()
    await shoot(b, 'offline-banner')
    await say(a, 'are you there?')
    await messages(a).filter({ hasText: 'are you there?' }).waitFor()

    await bob.context.setOffline(false)
    await b.getByTestId('banner').waitFor({ state: 'detached', timeout: 20_000 })
    await messages(b).filter({ hasText: 'are you there?' }).waitFor()
    await messages(a).filter({ hasText: 'offline three' }).waitFor()
    const texts = await messages(a).locator('.text').allTextContents()
    const order = ['offline one', 'offline two', 'offline three'].map((x) => texts.indexOf(x))
    t.ok(
      order.every((i) => i >= 0),
      'all three arrived',
    )
    t.same(
      [...order].sort((x, y) => x - y),
      order,
      'in the order they were written',
    )
    t.equal(texts.filter((x) => x === 'offline two').length, 1, 'once each')
    await b.locator('[data-testid=message][data-tick=read]').filter({ hasText: 'offline three' }).waitFor()
  },
)

t.test(
  'someone who asks to be asked gets an invitation and joins; admins promote and rename in group info',
  async (t) => {
    const c = carol.page
    if (await c.getByRole('button', { name: 'Back to conversations' }).isVisible())
      await c.getByRole('button', { name: 'Back to conversations' }).click()
    await c.getByRole('button', { name: 'Settings' }).click()
    await c.getByLabel('Nobody (always ask me)').check()
    await c.getByRole('button', { name: 'Save' }).click()
    await c.getByRole('dialog').waitFor({ state: 'detached' })

    const a = alice.page
    await a.getByRole('button', { name: 'New group' }).click()
    await a.getByLabel('Title').fill('Book club')
    await a.getByLabel('Members (usernames, separated by commas)').fill(carol.username)
    await a.getByRole('button', { name: 'Create group' }).click()
    await a.getByTestId('conversation-title').filter({ hasText: 'Book club' }).waitFor()

    const invitation = c.getByTestId('invitation').filter({ hasText: 'Book club' })
    await invitation.waitFor()
    t.equal(await conversation(c, 'Book club').count(), 0, 'not a member before answering')
    await invitation.getByRole('button', { name: 'Join' }).click()
    await conversation(c, 'Book club').waitFor()
    await invitation.waitFor({ state: 'detached' })
    await say(a, 'Welcome!')
    await conversation(c, 'Book club').getByTestId('unread').waitFor()

    // Group info: the admin makes Carol an admin and renames the group; Carol's page follows.
    await a.getByRole('button', { name: 'Book club: details' }).click()
    const info = a.getByRole('complementary', { name: 'Conversation details' })
    await info
      .getByRole('listitem')
      .filter({ hasText: 'Carol' })
      .getByRole('button', { name: 'Make admin' })
      .click()
    await info
      .getByRole('listitem')
      .filter({ hasText: 'Carol' })
      .locator('.pill', { hasText: 'admin' })
      .waitFor()
    await info.getByLabel('Title').fill('Book club 2027')
    await info.getByRole('button', { name: 'Rename' }).click()
    await conversation(c, 'Book club 2027').waitFor()
    await info.press('Escape')
    await info.waitFor({ state: 'detached' })
  },
)

t.test('scrolling up loads history page by page back to the start; jump-to-latest comes back', async (t) => {
  // Alice writes 70 messages from another device (the client library in Node), more than a sync's tail.
  const { client: other, dm } = await otherDevice(stack.base, alice.username, 'node-1', bob.username)
  t.teardown(() => other.close())
  const b = bob.page
  await Promise.all(Array.from({ length: 70 }, (_, i) => other.send(dm, { text: `history ${i + 1}` })))
  const text = (re: RegExp) => b.locator('[data-testid=message] .text', { hasText: re })
  await conversation(b, 'Alice').click()
  await text(/^history 70$/).waitFor()

  // A new page (reload) holds the last 50 from its sync; the rest comes from history as it scrolls.
  await b.reload()
  await conversation(b, 'Alice').click()
  await text(/^history 70$/).waitFor()
  const start = b.getByText('Start of the conversation')
  for (let page = 0; page < 5 && !(await start.isVisible()); page++) {
    const held = await messages(b).count()
    await b.locator('.messages').evaluate((el) => {
      el.scrollTop = 0
    })
    // The next page arrived (more messages above), or there is none left.
    await b.waitForFunction(
      (n) =>
        document.querySelectorAll('[data-testid=message]').length > n ||
        document.body.textContent?.includes('Start of the conversation'),
      held,
    )
  }
  await text(/^history 1$/).waitFor()
  await b.getByText('Start of the conversation').waitFor()
  t.equal(await text(/^history \d+$/).count(), 70, 'every message once')
  await b.getByTestId('jump').click()
  await b.getByTestId('jump').waitFor({ state: 'detached' })
  t.ok(await text(/^history 70$/).isVisible(), 'back at the latest message')
})

t.test('edits, reactions and deletes made on another device show live and after a reload', async (t) => {
  const { client: other, dm } = await otherDevice(stack.base, alice.username, 'node-2', bob.username)
  t.teardown(() => other.close())
  const b = bob.page
  const kept = await other.send(dm, { text: 'first draft' })
  const gone = await other.send(dm, { text: 'regrettable' })
  await conversation(b, 'Alice').click()
  const bubble = (seq: number) => b.locator(`[data-testid=message][data-seq="${seq}"]`)
  await bubble(gone.seq).getByText('regrettable').waitFor()

  await other.editMessage(dm, kept.seq, 'final text')
  await other.react(dm, kept.seq, '👍')
  await other.deleteMessage(dm, gone.seq, 'everyone')
  const check = async (when: string) => {
    await bubble(kept.seq).getByText('final text').waitFor()
    await bubble(kept.seq).getByTestId('edited').waitFor()
    t.match(await bubble(kept.seq).getByTestId('reactions').textContent(), /👍\s*1/, `${when}: the reaction`)
    await bubble(gone.seq).getByTestId('deleted').waitFor()
    t.equal(await bubble(gone.seq).getByText('regrettable').count(), 0, `${when}: the deleted text is gone`)
  }
  await check('live')
  await b.reload()
  await conversation(b, 'Alice').click()
  await check('after a reload')
})

t.test('a wrong password is refused on the page without saying which part was wrong', async (t) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(stack.base)
  await page.getByLabel('Username').fill(alice.username)
  await page.getByLabel('Password').fill(`${PASSWORD}x`)
  await page.getByRole('button', { name: 'Log in' }).click()
  t.match(await page.getByRole('alert').textContent(), /Wrong username or password/)
  await shoot(page, 'login')
  await context.close()
})
