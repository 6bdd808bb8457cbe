import { Migration } from '@mikro-orm/migrations'

/** Upload quotas and expiry (ADR 0131), in `<ns>_gateway`. */
export class Migration0130UploadQuota extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    // Bytes reserved per user and UTC day (days since the epoch).
    this.addSql(`CREATE TABLE ${s}.upload_days (
      user_id text NOT NULL,
      day integer NOT NULL,
      bytes bigint NOT NULL,
      PRIMARY KEY (user_id, day)
    )`)
    // Uploads in progress: what each has reserved, and when it began (a gateway that died
    // mid-upload leaves its row; the sweeper ends it).
    this.addSql(`CREATE TABLE ${s}.upload_pending (
      media_id text PRIMARY KEY,
      user_id text NOT NULL,
      reserved bigint NOT NULL,
      day integer NOT NULL,
      started_at bigint NOT NULL
    )`)
    this.addSql(`CREATE INDEX upload_pending_user ON ${s}.upload_pending (user_id)`)
    this.addSql(`CREATE INDEX upload_pending_started ON ${s}.upload_pending (started_at)`)
    // The sweeper's scan: the oldest media first.
    this.addSql(`CREATE INDEX media_created ON ${s}.media (created_at)`)
  }
}
