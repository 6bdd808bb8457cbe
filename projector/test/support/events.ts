import type { ChatEvent, EventData, EventOf, EventType } from '@chatapp/contracts'

/** Contract-valid events for tests, with readable defaults. */
let counter = 0
export const ev = <T extends EventType>(
  type: T,
  conversationId: string,
  actor: string,
  data: EventData<T>,
  at = 1_700_000_000_000,
): EventOf<T> =>
  ({ v: 1, type, id: `e${++counter}-${type}`, conversationId, actor, at, data }) as unknown as EventOf<T>

export const U = { ann: 'u_ann0001', bob: 'u_bob0001', cat: 'u_cat0001', dan: 'u_dan0001' }
export const GROUP = 'c_group001'
export const DIRECT = 'd_direct01'

export const created = (id = GROUP, members = [U.ann, U.bob, U.cat]) =>
  ev('conversation.created', id, members[0]!, {
    kind: id.startsWith('d_') ? 'direct' : 'group',
    title: id.startsWith('d_') ? null : 'Team',
    members: members.map((userId, i) => ({
      userId,
      role: i === 0 || id.startsWith('d_') ? 'admin' : 'member',
    })),
  })

export const sent = (id: string, sender: string, n: number, text = `hello ${n}`): ChatEvent =>
  ev('message.sent', id, sender, {
    clientMsgId: `cmid-${sender}-${n}`,
    deviceId: 'dev1',
    n,
    kind: 'text',
    text,
  })
