import { ChatError, type GroupAdds, type UserSettings } from '@chatapp/contracts'
import type { MikroORM } from '@mikro-orm/core'
import { UserSchema } from './entities.js'

/** A user's own settings, stored on their `users` row (migration 0002). */
export interface UserSettingsStore {
  /** USER_NOT_FOUND for an id that is not (or no longer) registered. */
  settings(userId: string): Promise<UserSettings>
  updateSettings(userId: string, settings: UserSettings): Promise<UserSettings>
  /** Who may add each registered user among `userIds` to groups; unknown ids are absent. One query. */
  groupAdds(userIds: readonly string[]): Promise<Map<string, GroupAdds>>
}

const read = async (orm: MikroORM, userId: string): Promise<UserSettings> => {
  const u = await orm.em
    .fork()
    .findOne(UserSchema, { id: userId }, { fields: ['groupAdds', 'pushContent', 'pushMentionsWhenMuted'] })
  if (!u) throw new ChatError('USER_NOT_FOUND')
  return {
    groupAdds: u.groupAdds,
    pushContent: u.pushContent,
    pushMentionsWhenMuted: u.pushMentionsWhenMuted,
  }
}

export const createUserSettings = (orm: MikroORM): UserSettingsStore => ({
  settings: (userId) => read(orm, userId),
  async updateSettings(userId, settings) {
    const em = orm.em.fork()
    // An absent push setting is left as it is (clients written before it existed send none).
    const n = await em.nativeUpdate(
      UserSchema,
      { id: userId },
      {
        groupAdds: settings.groupAdds,
        ...(settings.pushContent ? { pushContent: settings.pushContent } : {}),
        ...(settings.pushMentionsWhenMuted !== undefined
          ? { pushMentionsWhenMuted: settings.pushMentionsWhenMuted }
          : {}),
      },
    )
    if (n === 0) throw new ChatError('USER_NOT_FOUND')
    return read(orm, userId)
  },
  async groupAdds(userIds) {
    if (userIds.length === 0) return new Map()
    const rows = await orm.em
      .fork()
      .find(UserSchema, { id: { $in: [...new Set(userIds)] } }, { fields: ['id', 'groupAdds'] })
    return new Map(rows.map((r) => [r.id, r.groupAdds]))
  },
})
