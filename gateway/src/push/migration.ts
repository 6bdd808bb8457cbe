import { Migration } from '@mikro-orm/migrations'

/**
 * Push notifications (ADR 0190): the targets devices register, the push worker's marks (what it
 * told each target of each conversation), per-member mutes and the per-user content setting.
 */
export class Migration0190Push extends Migration {
  override up(): void {
    // The schema name is derived from a validated namespace: quoting is enough.
    const s = `"${this.config.get('schema')}"`
    this.addSql(
      `ALTER TABLE ${s}.users ADD COLUMN push_content text NOT NULL DEFAULT 'full' CHECK (push_content IN ('full', 'none'))`,
    )
    this.addSql(`CREATE TABLE ${s}.push_targets (
      id text PRIMARY KEY,
      user_id text NOT NULL,
      session_id text NOT NULL,
      device_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('webpush', 'webhook')),
      endpoint text NOT NULL,
      p256dh text,
      auth text,
      secret text,
      created_at bigint NOT NULL,
      failures integer NOT NULL DEFAULT 0,
      last_error text,
      dead_at bigint,
      dead_reason text
    )`)
    // One live target per device and kind: a browser that re-subscribes replaces its old endpoint.
    this.addSql(
      `CREATE UNIQUE INDEX push_targets_device_kind ON ${s}.push_targets (user_id, device_id, kind) WHERE dead_at IS NULL`,
    )
    // An endpoint reaches one browser: its latest registration owns it.
    this.addSql(
      `CREATE UNIQUE INDEX push_targets_endpoint ON ${s}.push_targets (endpoint) WHERE dead_at IS NULL`,
    )
    this.addSql(`CREATE INDEX push_targets_session ON ${s}.push_targets (session_id)`)
    this.addSql(`CREATE INDEX push_targets_dead ON ${s}.push_targets (dead_at) WHERE dead_at IS NOT NULL`)
    // The push worker's idempotency record: the newest sequence of each conversation a target was
    // told of (a redelivered job at or below it is not sent again).
    this.addSql(`CREATE TABLE ${s}.push_marks (
      target_id text NOT NULL REFERENCES ${s}.push_targets (id) ON DELETE CASCADE,
      conversation_id text NOT NULL,
      seq bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (target_id, conversation_id)
    )`)
    this.addSql(`CREATE INDEX push_marks_at ON ${s}.push_marks (at)`)
    this.addSql(`CREATE TABLE ${s}.conversation_mutes (
      user_id text NOT NULL,
      conversation_id text NOT NULL,
      until bigint,
      PRIMARY KEY (user_id, conversation_id)
    )`)
  }
}
