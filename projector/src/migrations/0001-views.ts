import { Migration } from '@mikro-orm/migrations'

/**
 * The views, in the schema the ORM was configured with (`<ns>_views`, or a rebuild schema).
 * Written by hand so every index is one we chose for a query in docs/query-plans.md.
 */
export class Migration0001Views extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema')}"`
    this.addSql(`CREATE TABLE ${s}.conversations (
      conversation_id text PRIMARY KEY,
      kind text NOT NULL,
      title text,
      created_seq bigint NOT NULL,
      created_at bigint NOT NULL,
      last_seq bigint NOT NULL,
      last_at bigint NOT NULL,
      last_msg_seq bigint,
      last_n integer NOT NULL DEFAULT 0,
      member_count integer NOT NULL DEFAULT 0
    )`)
    this.addSql(`CREATE TABLE ${s}.members (
      conversation_id text NOT NULL,
      user_id text NOT NULL,
      role text NOT NULL,
      active boolean NOT NULL,
      joined_seq bigint NOT NULL,
      join_ord integer NOT NULL,
      left_seq bigint,
      delivered_up_to bigint NOT NULL DEFAULT 0,
      read_up_to bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (conversation_id, user_id)
    )`)
    // The inbox: a user's active conversations.
    this.addSql(`CREATE INDEX members_user_active ON ${s}.members (user_id, conversation_id) WHERE active`)
    // "Who has read message S": members whose read watermark is at or past S.
    this.addSql(`CREATE INDEX members_read ON ${s}.members (conversation_id, read_up_to)`)
    this.addSql(`CREATE TABLE ${s}.messages (
      conversation_id text NOT NULL,
      seq bigint NOT NULL,
      n integer NOT NULL,
      sender_id text NOT NULL,
      device_id text NOT NULL,
      client_msg_id text NOT NULL,
      kind text NOT NULL,
      text text,
      media_id text,
      media jsonb,
      at bigint NOT NULL,
      PRIMARY KEY (conversation_id, seq),
      CONSTRAINT messages_client_msg_id UNIQUE (conversation_id, sender_id, client_msg_id)
    )`)
    this.addSql(`CREATE TABLE ${s}.media (
      conversation_id text NOT NULL,
      media_id text NOT NULL,
      kind text,
      mime text,
      size bigint,
      name text,
      state text NOT NULL,
      variants jsonb,
      width integer,
      height integer,
      duration_ms integer,
      placeholder text,
      waveform jsonb,
      failure_code text,
      failure_reason text,
      updated_seq bigint NOT NULL,
      PRIMARY KEY (conversation_id, media_id)
    )`)
    this.addSql(`CREATE TABLE ${s}.projector_offsets (
      shard integer PRIMARY KEY,
      last_seq bigint NOT NULL,
      last_at bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`)
    this.addSql(`CREATE TABLE ${s}.dead_letters (
      stream text NOT NULL,
      seq bigint NOT NULL,
      subject text NOT NULL,
      code text NOT NULL,
      reason text NOT NULL,
      payload text NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (stream, seq)
    )`)
  }
}
