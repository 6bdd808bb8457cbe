/** One helper for every package: a port the kernel says is free on 127.0.0.1 right now. */
export { freePort } from '@chatapp/infra'
