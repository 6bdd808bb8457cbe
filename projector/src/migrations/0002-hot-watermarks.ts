import { Migration } from '@mikro-orm/migrations'

/**
 * Watermark updates without index maintenance (ADR 0102). Every message moves its sender's
 * watermarks and every receipt a member's: an UPDATE of `members`. While `read_up_to` was indexed
 * (`members_read`) each such update wrote a new entry into all three indexes of the table; now no
 * indexed column changes, so PostgreSQL can make it a HOT update (same page, no index entry) when
 * the page has room, which the lower fill factor leaves (conversation rows, updated on every
 * message, likewise). `members_read` served "who has read message S" by conversation, which the
 * primary key (conversation_id, user_id) serves as well: a conversation has at most a group's
 * members. The fill factor applies to pages written from now on; nothing is rewritten.
 */
export class Migration0002HotWatermarks extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`DROP INDEX IF EXISTS ${s}.members_read`)
    this.addSql(`ALTER TABLE ${s}.members SET (fillfactor = 70)`)
    this.addSql(`ALTER TABLE ${s}.conversations SET (fillfactor = 70)`)
  }
}
