export { AccessError, AccountError, type AccessErrorCode, type AccountErrorCode } from './errors.ts';
export {
  EDIT_ROLES,
  MANAGE_ROLES,
  REVIEW_ROLES,
  ROLES,
  VIEW_ROLES,
  assertRole,
  canEdit,
  canManageMembers,
  canReview,
  canView,
  isRole,
  type Role,
} from './roles.ts';
export { LoginRateLimiter, type LoginRateLimiterOptions, type RateLimitDecision } from './rate-limit.ts';
export { displayNameSchema, emailSchema, isUuid, orgNameSchema, roleSchema } from './validation.ts';
export { logIn, signUp, signUpSchema, type LogInInput, type LogInOptions, type SignUpInput } from './users.ts';
export { createOrg, getMembership, listMyOrgs, requireOrgRole, type MyOrg } from './orgs.ts';
export { INVITE_TTL_MS, acceptInvite, createInvite, hashInviteToken, type AcceptedInvite, type CreatedInvite } from './invites.ts';
export { requireProjectRole } from './project-access.ts';
