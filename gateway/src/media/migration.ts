import { Migration } from '@mikro-orm/migrations'

/** Media records and (until 0150) shares, in `<ns>_gateway`. */
export class Migration0040Media extends Migration {
  override up(): void {
    // The schema name is derived from a validated namespace: quoting is enough.
    const s = `"${this.config.get('schema')}"`
    this.addSql(`CREATE TABLE ${s}.media (
      id text PRIMARY KEY,
      uploader_id text NOT NULL,
      kind text NOT NULL,
      mime text NOT NULL,
      size bigint NOT NULL,
      name text,
      key text NOT NULL,
      created_at bigint NOT NULL
    )`)
    this.addSql(`CREATE INDEX media_uploader ON ${s}.media (uploader_id, created_at)`)
    this.addSql(`CREATE TABLE ${s}.media_shares (
      media_id text NOT NULL REFERENCES ${s}.media (id) ON DELETE CASCADE,
      conversation_id text NOT NULL,
      seq bigint NOT NULL,
      enqueued_at bigint,
      PRIMARY KEY (media_id, conversation_id)
    )`)
  }
}
