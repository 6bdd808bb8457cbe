import { Migration } from '@mikro-orm/migrations'

/**
 * What the projector needs to judge events with the domain's rules and to drive effects from the
 * log (ADR 0150):
 * - `invitations`: each user's standing with a group's invitations (pending or declined), read
 *   back with the conversation's state so `admit` can judge the next invitation event. Empty for
 *   invitations made before this migration: `chatapp-ops rebuild` fills it from the log.
 * - `media.shared_seq`: the latest message of the conversation that carries the media, so "shared
 *   with whom" is a view fact (downloads, upload expiry); filled here from the messages the views
 *   hold. `media_shared` finds a media's conversations.
 * - `effect_outbox`: effects of the events a batch admitted, written in its transaction and
 *   deleted once JetStream acknowledged their publication (outbox.ts).
 */
export class Migration0003JudgedViewsAndOutbox extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`CREATE TABLE ${s}.invitations (
      conversation_id text NOT NULL,
      user_id text NOT NULL,
      state text NOT NULL,
      by_user text NOT NULL,
      seq bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (conversation_id, user_id)
    )`)
    this.addSql(`ALTER TABLE ${s}.media ADD COLUMN shared_seq bigint`)
    this.addSql(`UPDATE ${s}.media md SET shared_seq = g.seq
      FROM (SELECT conversation_id, media_id, max(seq) AS seq FROM ${s}.messages
            WHERE media_id IS NOT NULL GROUP BY 1, 2) g
      WHERE md.conversation_id = g.conversation_id AND md.media_id = g.media_id`)
    this.addSql(`CREATE INDEX media_shared ON ${s}.media (media_id, shared_seq) WHERE shared_seq IS NOT NULL`)
    this.addSql(`CREATE TABLE ${s}.effect_outbox (
      id text PRIMARY KEY,
      shard integer NOT NULL,
      seq bigint NOT NULL,
      subject text NOT NULL,
      payload text NOT NULL
    )`)
    this.addSql(`CREATE INDEX effect_outbox_shard ON ${s}.effect_outbox (shard, seq)`)
  }
}
