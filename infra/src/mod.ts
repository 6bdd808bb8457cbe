export * from './probe.js'
export * from './provision.js'
export * from './stack.js'
export * from './test-support.js'
