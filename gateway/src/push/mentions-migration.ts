import { Migration } from '@mikro-orm/migrations'

/**
 * Mentions despite a mute (issue 17, ADR 0194): a per-user push setting next to `push_content`
 * (ADR 0192: push settings are user state in the gateway's schema). On by default, as WhatsApp
 * does: a member who muted a busy group still hears when someone asks for them by name.
 */
export class Migration0194PushMentions extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`ALTER TABLE ${s}.users ADD COLUMN push_mentions_when_muted boolean NOT NULL DEFAULT true`)
  }
}
