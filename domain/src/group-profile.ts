import type { ChatEvent, ErrorCode, EventData } from '@chatapp/contracts'
import type { ConversationState, MemberState } from './state.js'

type ProfileCommand =
  | {
      type: 'group.profile'
      description?: string | null | undefined
      avatarMediaId?: string | null | undefined
      avatar?: EventData<'message.sent'>['media']
    }
  | { type: 'group.settings'; editInfo?: 'admins' | 'everyone'; sendMessages?: 'admins' | 'everyone' }

type Decision = { ok: true; events: ChatEvent[] } | { ok: false; code: ErrorCode; message?: string }

/**
 * A group's description, avatar and settings (ADR 0215): the info is the admins' unless the group
 * lets everyone edit it; the settings are always the admins'. Only what changes is stored; a
 * command that changes nothing is `ok` without an event.
 */
export const decideProfile = (
  s: ConversationState,
  me: MemberState,
  c: ProfileCommand,
  make: (
    data: EventData<'conversation.profile_changed'> | EventData<'conversation.settings_changed'>,
  ) => ChatEvent,
): Decision => {
  if (s.kind !== 'group') return { ok: false, code: 'NOT_A_GROUP' }
  const admin = me.role === 'admin'
  if (c.type === 'group.settings') {
    if (!admin) return { ok: false, code: 'NOT_ADMIN' }
    const data: EventData<'conversation.settings_changed'> = {
      ...(c.editInfo !== undefined && c.editInfo !== s.settings.editInfo ? { editInfo: c.editInfo } : {}),
      ...(c.sendMessages !== undefined && c.sendMessages !== s.settings.sendMessages
        ? { sendMessages: c.sendMessages }
        : {}),
    }
    return Object.keys(data).length === 0 ? { ok: true, events: [] } : { ok: true, events: [make(data)] }
  }
  if (!admin && s.settings.editInfo !== 'everyone') return { ok: false, code: 'NOT_ADMIN' }
  const data: EventData<'conversation.profile_changed'> = {}
  if (c.description !== undefined && c.description !== s.description) data.description = c.description
  if (c.avatarMediaId === null) {
    if (s.avatar !== null) data.avatar = null
  } else if (c.avatarMediaId !== undefined && c.avatarMediaId !== s.avatar?.mediaId) {
    if (!c.avatar || c.avatar.mediaId !== c.avatarMediaId) return { ok: false, code: 'MEDIA_NOT_FOUND' }
    if (c.avatar.kind !== 'image') return { ok: false, code: 'NOT_AN_IMAGE' }
    data.avatar = c.avatar
  }
  return Object.keys(data).length === 0 ? { ok: true, events: [] } : { ok: true, events: [make(data)] }
}
