import type { AccountService } from './accounts/account-service.js'
import { accountRoutes } from './accounts/routes.js'
import type { PendingInvitations } from './invitations/pending-invitations.js'
import { invitationRoutes } from './invitations/routes.js'
import { type MediaRoutesDeps, mediaRoutes } from './media/routes.js'
import { type PushRoutesDeps, pushRoutes } from './push/routes.js'
import type { HttpRoute } from './transport/http/route.js'
import { type ViewRoutesContext, viewRoutes } from './views/view-routes.js'

/**
 * Every HTTP endpoint of the gateway (contracts' HTTP_ENDPOINTS), composed from the routes each
 * module registers. Composition only: the HTTP transport imports no module, and no module imports
 * this file.
 */
export const gatewayRoutes = (m: {
  accounts: AccountService
  views: ViewRoutesContext
  media?: MediaRoutesDeps
  invitations: PendingInvitations
  push?: PushRoutesDeps
}): HttpRoute[] => [
  ...accountRoutes(m.accounts),
  ...invitationRoutes(m.invitations),
  ...viewRoutes(m.views),
  ...(m.media ? mediaRoutes(m.media) : []),
  ...(m.push ? pushRoutes(m.push) : []),
]
