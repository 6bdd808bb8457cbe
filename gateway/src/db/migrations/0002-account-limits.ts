import { Migration } from '@mikro-orm/migrations'

/**
 * Account settings and limits (ADR 0140, issue 10 items 5 and 6): who may add a user to groups;
 * per-account counters (failed logins, group creations) shared by every gateway; and an index
 * to tell a device the account has logged in from before.
 */
export class Migration0002AccountLimits extends Migration {
  override up(): void {
    // The schema name is derived from a validated namespace: quoting is enough.
    const s = `"${this.config.get('schema')}"`
    this.addSql(
      `ALTER TABLE ${s}.users ADD COLUMN group_adds text NOT NULL DEFAULT 'everyone' CHECK (group_adds IN ('everyone', 'contacts', 'nobody'))`,
    )
    // One row per limited thing: `login:<username>:<lane>` (failures, last failure, next allowed
    // attempt) or `groups:<userId>` (a token bucket: tokens, last refill). Keys of usernames that
    // do not exist are kept like the others, so the two cannot be told apart.
    this.addSql(`CREATE TABLE ${s}.account_limits (
      key text PRIMARY KEY,
      count double precision NOT NULL,
      at bigint NOT NULL,
      until bigint NOT NULL
    )`)
    this.addSql(`CREATE INDEX account_limits_at ON ${s}.account_limits (at)`)
    // "Has this device logged in to this account before?", revoked sessions included.
    this.addSql(`CREATE INDEX sessions_user_device ON ${s}.sessions (user_id, device_id)`)
  }
}
