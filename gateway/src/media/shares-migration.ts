import { Migration } from '@mikro-orm/migrations'

/**
 * Where a media was shared is a fact of the projector's views now (`media.shared_seq`, ADR 0150),
 * derived from the log like every view, not recorded by the request path: the gateway's own
 * record of it goes. The views' migration fills `shared_seq` from the messages they hold.
 */
export class Migration0150MediaSharesInViews extends Migration {
  override up(): void {
    this.addSql(`DROP TABLE IF EXISTS "${this.config.get('schema')}".media_shares`)
  }
}
