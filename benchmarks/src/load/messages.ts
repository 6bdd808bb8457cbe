import type { CheckCounts } from '../core/sequence-checker.js'

/** What the coordinator and its load workers say to each other over the fork IPC channel. */

export interface PlannedUser {
  /** Global index: it is the `sender` stamped in message texts. */
  index: number
  username: string
  password: string
}

export interface PlannedConversation {
  kind: 'direct' | 'group'
  /** Every member, wherever it runs. */
  members: number[]
  /** A group whose members are spread over workers (core/plan.ts): this worker's share. */
  split?: {
    /** The group's name in the plan, the same on every worker (its id is known after creation). */
    key: string
    /** The members this worker holds. */
    local: number[]
    /** This worker creates the group and sends; the others only receive. */
    owner: boolean
  }
}

/** What the owners of split groups stored in a step: per `<conversation>|<sender>`, as StoredRange. */
export interface SplitStored {
  ranges: Record<string, { upTo: number; refused: number[] }>
  /** Messages stored in the step, per conversation id. */
  storedInStep: Record<string, number>
}

/** One message of a split group as one worker saw it: its members' copies and the last one's times. */
export interface SplitArrival {
  /** `<conversation>|<sender>|<n>` */
  key: string
  sentAtUs: number
  /** Copies this worker's members received, and how many the whole group should. */
  count: number
  receivers: number
  /** This worker's first copy (with the last, how long its share of the fan-out took to read). */
  firstAtUs: number
  lastAtUs: number
  lastReadAtUs: number
}

/** A worker's share of a step in its split groups, after the owners' stored ranges were known. */
export interface SplitResult {
  delivered: number
  expected: number
  check: CheckCounts
  sendToDelivered: string
  arrivals: SplitArrival[]
}

export interface ChatSetup {
  kind: 'chat'
  httpUrl: string
  /** The gateways' WebSocket URLs: user i connects to wsUrls[i mod length]. */
  wsUrls: string[]
  users: PlannedUser[]
  conversations: PlannedConversation[]
  msgBytes: number
  receiptIntervalMs: number
}

export interface EchoSetup {
  kind: 'echo'
  wsUrl: string
  connections: number
  msgBytes: number
  depth: number
  durationMs: number
}

export interface IdleSetup {
  kind: 'idle'
  wsUrl: string
  /** Access tokens (users logged in beforehand), shared round robin by the connections. */
  tokens: string[]
  /** Where this worker's connections start in the round robin (so workers do not all reuse the first users). */
  tokenOffset: number
  connections: number
  localAddresses: string[]
}

/** One device of the reconnect storm: its token, the cursors it holds, when it (re)connects in a wave. */
export interface StormDevice {
  token: string
  cursors: Record<string, number>
  /** Milliseconds after the wave's start. */
  offsetMs: number
}

export interface StormSetup {
  kind: 'storm'
  wsUrl: string
  devices: StormDevice[]
  localAddresses: string[]
}

export type Setup = ChatSetup | EchoSetup | IdleSetup | StormSetup

export interface StormWave {
  /** Epoch milliseconds (the coordinator's and the workers' clocks are this machine's). */
  startAt: number
  timeoutMs: number
}

export interface StormWaveResult {
  started: number
  synced: number
  failures: Record<string, number>
  connectToHello: string
  helloToSynced: string
  connectToSynced: string
  /** Per device, in setup order: messages its sync brought (-1: it did not sync). */
  caught: number[]
  /** Per device: messages its sync brought per conversation, and the cursors `synced` gave (to name a shortfall). */
  perConversation: { caught: Record<string, number>; synced: Record<string, number> }[]
  redelivered: number
  /** Epoch milliseconds of the last `synced`. */
  lastSyncedAt: number
}

export interface RunStep {
  /** Messages per second this worker offers. */
  rate: number
  durationMs: number
  drainTimeoutMs: number
  reconnect?: { clients: number; offlineMs: number; atMs: number }
}

export interface MediaStep {
  httpUrl: string
  uploads: number
  photoShare: number
  photoPath: string
  videoPath: string
  concurrency: number
  readyTimeoutMs: number
}

export interface MediaResult {
  uploads: number
  ready: number
  failed: number
  notReady: number
  errors: Record<string, number>
  seconds: number
  upload: string
  imageToReady: string
  videoToReady: string
}

export type ToWorker =
  | { type: 'setup'; setup: Setup }
  | { type: 'run'; step: RunStep }
  /**
   * Split groups (core/plan.ts), after every worker's setup: with no `ids`, owners create their
   * groups from everyone's user ids; with `ids`, every worker binds them and waits until its
   * members have the group.
   */
  | { type: 'split'; userIds: Record<number, string>; ids?: Record<string, string> }
  /** After a step: receive what the owners stored in split groups, then report this worker's share. */
  | { type: 'settle'; stored: SplitStored; drainTimeoutMs: number }
  | { type: 'media'; step: MediaStep }
  | { type: 'storm'; wave: StormWave }
  | { type: 'storm-drop' }
  | { type: 'close' }

export interface Progress {
  sent: number
  stored: number
  delivered: number
  errors: number
  open: number
}

export interface StepResult {
  sent: number
  stored: number
  delivered: number
  expected: number
  sendErrors: Record<string, number>
  sendToSent: string
  sendToDelivered: string
  toLastMember: string
  /**
   * The same, stamped at the start of the worker's read batch that received the last member's copy
   * (core/read-batch-clock.ts): without the worker's own handling of the other members' copies.
   */
  toLastMemberRead: string
  resync: string
  check: CheckCounts
  redelivered: number
  unexpectedCloses: number
  clientErrors: Record<string, number>
  sendSeconds: number
  /** Owners of split groups: what they stored (the split groups' deliveries come with `settle`). */
  split?: SplitStored
}

export interface EchoResult {
  echoed: number
  seconds: number
  rtt: string
}

export type FromWorker =
  | {
      type: 'ready'
      clients: number
      conversations: number
      setupMs: number
      /** The user ids of this worker's members of split groups, by plan index. */
      userIds?: Record<number, string>
    }
  | { type: 'split'; ids: Record<string, string> }
  | { type: 'settle'; result: SplitResult }
  | { type: 'progress'; progress: Progress }
  | { type: 'step'; result: StepResult }
  | { type: 'echo'; result: EchoResult }
  | { type: 'media'; result: MediaResult }
  | { type: 'storm'; result: StormWaveResult }
  | { type: 'failed'; message: string }
