export * from './log/conversation-log.js'
export * from './log/js-requests.js'
export * from './log/range-reader.js'
export * from './log/transient.js'
