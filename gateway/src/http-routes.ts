import type { AccountService } from './accounts/account-service.js'
import { accountRoutes } from './accounts/routes.js'
import { webSessionRoutes } from './accounts/web-session-routes.js'
import { type MemberRoutesDeps, memberRoutes } from './conversation/member-routes.js'
import type { PendingInvitations } from './invitations/pending-invitations.js'
import { invitationRoutes } from './invitations/routes.js'
import { type MediaRoutesDeps, mediaRoutes } from './media/routes.js'
import type { HttpRoute } from './transport/http/route.js'
import { type ViewRoutesContext, viewRoutes } from './views/view-routes.js'
import { webRoutes } from './web/routes.js'
import type { StaticSite } from './web/static-site.js'

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
  members: MemberRoutesDeps
  /** The `Secure` attribute of the web app's refresh cookie (WEB_COOKIE_SECURE). */
  webCookieSecure?: boolean
  /** The web app's files; without them `/` is 404 (a gateway built without `web/`). */
  site?: StaticSite
}): HttpRoute[] => [
  ...accountRoutes(m.accounts),
  ...webSessionRoutes(m.accounts, { secureCookie: m.webCookieSecure ?? true }),
  ...invitationRoutes(m.invitations),
  ...viewRoutes(m.views),
  ...memberRoutes(m.members),
  ...(m.media ? mediaRoutes(m.media) : []),
  ...(m.site ? webRoutes(m.site) : []),
]
