import { Migration } from '@mikro-orm/migrations'

/**
 * A group's profile and settings on its conversation row (ADR 0215): description, avatar (a media
 * ref; its share is in `media` like a message's), who may edit the info and who may send. The
 * settings are read back with the conversation's state: `admit` judges renames, profile changes
 * and messages by them; so are the live invite links (ADR 0216), which judge joins by link. Rows of events before this migration have the defaults, which is what
 * those groups had.
 */
export class Migration0005GroupProfile extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`ALTER TABLE ${s}.conversations ADD COLUMN description text, ADD COLUMN avatar jsonb,
      ADD COLUMN edit_info text NOT NULL DEFAULT 'admins', ADD COLUMN send_messages text NOT NULL DEFAULT 'everyone',
      ADD COLUMN links jsonb NOT NULL DEFAULT '{}'`)
  }
}
