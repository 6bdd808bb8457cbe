// `node --import=<this>`: runs the repository's .ts files, from what `make typecheck` emitted where
// it is current (ts-loader-hooks.mjs). Each package's .taprc passes it to every test process.
import { register } from 'node:module'

register('./ts-loader-hooks.mjs', import.meta.url)
