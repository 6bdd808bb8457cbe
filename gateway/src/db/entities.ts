import type { EntitySchema } from '@mikro-orm/core'
import { ACCOUNT_ENTITIES } from '../accounts/entities.js'
import { MEDIA_ENTITIES } from '../media/entities.js'
import { PUSH_ENTITIES } from '../push/entities.js'

/**
 * Every entity of the gateway's own schema (`<ns>_gateway`). An explicit list, not discovery:
 * modules append their entities here (append-only), and add the migration creating their
 * tables to `migrations.ts`.
 */
export const GATEWAY_ENTITIES: EntitySchema[] = [
  ...(ACCOUNT_ENTITIES as EntitySchema[]),
  ...(MEDIA_ENTITIES as EntitySchema[]),
  ...(PUSH_ENTITIES as EntitySchema[]),
]
