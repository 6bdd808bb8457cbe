import { Migration } from '@mikro-orm/migrations'

/** Accounts: users, sessions (refresh-token families) and refresh tokens, in `<ns>_gateway`. */
export class Migration0001Accounts extends Migration {
  override up(): void {
    // The schema name is derived from a validated namespace ([a-z][a-z0-9]*_gateway): quoting is enough.
    const s = `"${this.config.get('schema')}"`
    this.addSql(`CREATE TABLE ${s}.users (
      id text PRIMARY KEY,
      username text NOT NULL UNIQUE,
      display_name text NOT NULL,
      password_hash text NOT NULL,
      created_at bigint NOT NULL
    )`)
    this.addSql(`CREATE TABLE ${s}.sessions (
      id text PRIMARY KEY,
      user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
      device_id text NOT NULL,
      created_at bigint NOT NULL,
      revoked_at bigint,
      revoked_reason text
    )`)
    // Logout of all devices, and replacing the session of a device at login.
    this.addSql(
      `CREATE INDEX sessions_user_live ON ${s}.sessions (user_id, device_id) WHERE revoked_at IS NULL`,
    )
    this.addSql(`CREATE TABLE ${s}.refresh_tokens (
      token_hash text PRIMARY KEY,
      session_id text NOT NULL REFERENCES ${s}.sessions (id) ON DELETE CASCADE,
      issued_at bigint NOT NULL,
      expires_at bigint NOT NULL,
      rotated_at bigint
    )`)
    this.addSql(`CREATE INDEX refresh_tokens_session ON ${s}.refresh_tokens (session_id)`)
  }
}
