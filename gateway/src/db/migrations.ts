import type { MigrationObject } from '@mikro-orm/core'
import { Migration0040Media } from '../media/migration.js'
import { Migration0150MediaSharesInViews } from '../media/shares-migration.js'
import { Migration0130UploadQuota } from '../media/upload-migration.js'
import { Migration0194PushMentions } from '../push/mentions-migration.js'
import { Migration0190Push } from '../push/migration.js'
import { Migration0001Accounts } from './migrations/0001-accounts.js'
import { Migration0002AccountLimits } from './migrations/0002-account-limits.js'

/**
 * The gateway schema's migrations, in order. An explicit list (no glob discovery: the compiled
 * ESM package carries exactly these). Append only; never edit or reorder a released migration.
 * Names are stored in `<schema>.mikro_orm_migrations`.
 */
export const GATEWAY_MIGRATIONS: MigrationObject[] = [
  { name: '0001-accounts', class: Migration0001Accounts },
  { name: '0040-media', class: Migration0040Media },
  { name: '0002-account-limits', class: Migration0002AccountLimits },
  { name: '0130-upload-quota', class: Migration0130UploadQuota },
  { name: '0150-media-shares-in-views', class: Migration0150MediaSharesInViews },
  { name: '0190-push', class: Migration0190Push },
  { name: '0194-push-mentions', class: Migration0194PushMentions },
]
