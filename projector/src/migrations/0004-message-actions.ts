import { Migration } from '@mikro-orm/migrations'

/**
 * Replies, edits, deletes, reactions and hides (ADR 0210–0212):
 * - `messages.reply_to`: the quoted message (seq, sender, kind, preview) as the reply carried it;
 *   `forwarded`: how many forwards led to it (ADR 0213);
 *   `edited_at`: the latest edit; `deleted_at` / `deleted_by`: a tombstone (text, media and quote
 *   emptied).
 * - `reactions`: one row per member per message (the primary key serves "reactions of these
 *   messages" for a history page).
 * - `mentions`: who a message mentions (ADR 0214), one row per member, gone with the message.
 * - `hidden_messages`: delete for me, per user; read by the history and inbox of that user only.
 * Rows of events before this migration are empty: `chatapp-ops rebuild` fills them from the log.
 */
export class Migration0004MessageActions extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`ALTER TABLE ${s}.messages ADD COLUMN reply_to jsonb, ADD COLUMN forwarded integer,
      ADD COLUMN edited_at bigint, ADD COLUMN deleted_at bigint, ADD COLUMN deleted_by text,
      ADD COLUMN mentions jsonb`)
    this.addSql(`CREATE TABLE ${s}.reactions (
      conversation_id text NOT NULL,
      seq bigint NOT NULL,
      user_id text NOT NULL,
      emoji text NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (conversation_id, seq, user_id)
    )`)
    // Unread mentions of a member: those past their read watermark (the inbox counts them).
    this.addSql(`CREATE TABLE ${s}.mentions (
      conversation_id text NOT NULL,
      user_id text NOT NULL,
      seq bigint NOT NULL,
      PRIMARY KEY (conversation_id, user_id, seq)
    )`)
    this.addSql(`CREATE TABLE ${s}.hidden_messages (
      conversation_id text NOT NULL,
      user_id text NOT NULL,
      seq bigint NOT NULL,
      PRIMARY KEY (conversation_id, user_id, seq)
    )`)
  }
}
