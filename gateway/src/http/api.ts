import type { AccountService } from '../accounts/account-service.js'
import { accountRoutes } from '../accounts/routes.js'
import { type MediaRoutesDeps, mediaRoutes } from '../media/routes.js'
import { type ViewRoutesContext, viewRoutes } from '../views/view-routes.js'
import type { HttpRoute } from './route.js'

/**
 * Every HTTP endpoint of the gateway (contracts' HTTP_ENDPOINTS). Each module contributes a
 * route factory and the dependencies it needs in `ApiContext`. Append-only: add your field and
 * your factory at the end.
 */
export interface ApiContext {
  accounts: AccountService
  /** Inbox, history pages and message status, served from the projector's views. */
  views: ViewRoutesContext
  /** Upload and download of media (POST /v1/media, GET /v1/media/:mediaId/:variant). */
  media?: MediaRoutesDeps
}

export const httpRoutes = (ctx: ApiContext): HttpRoute[] => [
  ...accountRoutes(ctx.accounts),
  ...viewRoutes(ctx.views),
  ...(ctx.media ? mediaRoutes(ctx.media) : []),
]
