import { Migration } from '@mikro-orm/migrations'

/**
 * `join_requests` (ADR 0217): each user's standing with a group's join requests through invite
 * links that need approval: `pending` (with the link it came through) or `denied`. Read back with
 * the conversation's state so `admit` judges the next request, approval, denial or withdrawal; the
 * pending rows are the admins' list to answer. No such events exist before this migration.
 */
export class Migration0006JoinRequests extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`CREATE TABLE ${s}.join_requests (
      conversation_id text NOT NULL,
      user_id text NOT NULL,
      state text NOT NULL,
      link_id text,
      by_user text NOT NULL,
      seq bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (conversation_id, user_id)
    )`)
  }
}
