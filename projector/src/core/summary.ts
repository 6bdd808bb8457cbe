import type { ChatEvent } from '@chatapp/contracts'

const clip = (s: string, max = 60) => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

/** One line an operator can read in `replay`: what the event did, without its whole payload. */
export const summarise = (e: ChatEvent): string => {
  switch (e.type) {
    case 'conversation.created':
      return `${e.data.kind} ${e.data.title ? `"${clip(e.data.title, 30)}" ` : ''}with ${e.data.members
        .map((m) => (m.role === 'admin' ? `${m.userId}*` : m.userId))
        .join(', ')}${e.data.invited?.length ? `, inviting ${e.data.invited.join(', ')}` : ''}`
    case 'conversation.renamed':
      return `renamed to "${clip(e.data.title, 40)}"`
    case 'conversation.profile_changed':
      return [
        e.data.description !== undefined
          ? e.data.description === null
            ? 'description removed'
            : `description "${clip(e.data.description, 40)}"`
          : '',
        e.data.avatar !== undefined
          ? e.data.avatar
            ? `avatar ${e.data.avatar.mediaId}`
            : 'avatar removed'
          : '',
      ]
        .filter(Boolean)
        .join(', ')
    case 'conversation.settings_changed':
      return Object.entries(e.data)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')
    case 'member.added':
      return `added ${e.data.userId} as ${e.data.role}`
    case 'member.invited':
      return `invited ${e.data.userId}`
    case 'member.joined':
      if (e.data.link && e.actor !== e.data.userId)
        return `${e.data.userId} joined (approved by ${e.actor}, link ${e.data.link})`
      return `${e.data.userId} joined (${e.data.link ? `with link ${e.data.link}` : 'accepted an invitation'})`
    case 'member.join_requested':
      return `${e.data.userId} asked to join (link ${e.data.link})`
    case 'member.join_denied':
      return `denied ${e.data.userId}'s request to join`
    case 'member.join_cancelled':
      return `${e.data.userId} withdrew their request to join`
    case 'conversation.link_created':
      return `invite link ${e.data.linkId} created${e.data.approval ? ' (joins need approval)' : ''}`
    case 'conversation.link_revoked':
      return `invite link ${e.data.linkId} revoked`
    case 'member.invite_cancelled':
      return e.actor === e.data.userId
        ? `${e.data.userId} declined`
        : `withdrew ${e.data.userId}'s invitation`
    case 'member.removed':
      return `removed ${e.data.userId}`
    case 'member.left':
      return `${e.data.userId} left`
    case 'member.role_changed':
      return `${e.data.userId} is now ${e.data.role}`
    case 'message.sent': {
      const media = e.data.media ? ` [${e.data.media.kind} ${e.data.media.mediaId}]` : ''
      const text = e.data.text ? ` "${clip(e.data.text.replace(/\s+/g, ' '))}"` : ''
      const reply = e.data.replyTo ? ` (reply to ${e.data.replyTo.seq})` : ''
      return `#${e.data.n} ${e.data.kind}${media}${text}${reply}`
    }
    case 'message.edited':
      return `edited ${e.data.seq} to "${clip(e.data.text.replace(/\s+/g, ' '))}"`
    case 'message.deleted':
      return `deleted ${e.data.seq} (by ${e.data.senderId === e.actor ? 'its sender' : 'an admin'}) for everyone${
        e.data.mediaId ? `, media ${e.data.mediaId}` : ''
      }`
    case 'message.hidden':
      return `hid ${e.data.seq} for themselves`
    case 'message.reacted':
      return e.data.emoji === null
        ? `removed their reaction to ${e.data.seq}`
        : `reacted ${e.data.emoji} to ${e.data.seq}`
    case 'media.ready':
      return `${e.data.mediaId} ready (${e.data.variants.map((v) => v.name).join(', ') || 'no variants'})`
    case 'media.failed':
      return `${e.data.mediaId} failed: ${e.data.code} ${clip(e.data.reason, 40)}`
    case 'receipt.delivered':
      return `delivered up to ${e.data.upTo}`
    case 'receipt.read':
      return `read up to ${e.data.upTo}`
    case 'receipt.batch':
      return `${e.data.delivered.length} delivered, ${e.data.read.length} read`
    default: {
      const never: never = e
      return (never as { type: string }).type
    }
  }
}
