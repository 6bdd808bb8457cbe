import { AuthApi, connect } from '@chatapp/client'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

export const PASSWORD = 'violet harbour tangent 7'

/** Debian's Chromium, headless, driven by playwright-core (no browser download). */
export const launch = (executablePath: string): Promise<Browser> =>
  chromium.launch({
    executablePath,
    headless: true,
    // As root (CI) Chromium's sandbox cannot start; the pages are our own.
    args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  })

export interface User {
  context: BrowserContext
  page: Page
  username: string
}

/** A person in their own browser profile: registers through the page and lands in the chat list. */
export const signUp = async (
  browser: Browser,
  base: string,
  username: string,
  displayName: string,
  viewport = { width: 1100, height: 720 },
): Promise<User> => {
  const context = await browser.newContext({ viewport, colorScheme: 'light' })
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error(`[${username} page error]`, e))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`[${username} console] ${m.text()}`)
  })
  await page.goto(base)
  await page.getByRole('button', { name: 'New here? Create an account' }).click()
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Display name').fill(displayName)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor()
  return { context, page, username }
}

export const conversation = (page: Page, title: string) =>
  page.getByTestId('conversation').filter({ has: page.locator('.conv-title', { hasText: title }) })

export const messages = (page: Page) => page.getByTestId('message')

/** Types a message in the open conversation and sends it with Enter. */
export const say = async (page: Page, text: string): Promise<void> => {
  const box = page.getByTestId('composer')
  await box.fill(text)
  await box.press('Enter')
}

/**
 * Another device of `username` on the client library in Node (not a page), with a direct
 * conversation open to `peer`: what a phone of the same person does while the page watches.
 */
export const otherDevice = async (base: string, username: string, deviceId: string, peer: string) => {
  const auth = new AuthApi(base)
  const pair = await auth.login({ username, password: PASSWORD, deviceId })
  const client = connect(`${base.replace('http', 'ws')}/v1/ws`, {
    deviceId,
    tokenProvider: async () => pair.accessToken,
    pingIntervalMs: 0,
  })
  await client.ready()
  const peerProfile = await auth.userByUsername(pair.accessToken, peer)
  const dm = (await client.openDirect(peerProfile.userId)).conversationId!
  return { client, dm }
}
