export { ServiceError, type ServiceErrorCode } from '../errors.ts';
export {
  APPROVE_ROLES,
  CAPABILITIES,
  COMMENT_ROLES,
  DELETE_PROJECT_ROLES,
  PERMISSIONS,
  RENDER_ROLES,
  SHARE_ROLES,
  can,
  mayApprove,
  rolesWith,
  type Capability,
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

export { displayNameSchema, emailSchema, isUuid, orgNameSchema, roleSchema } from './validation.ts';
export { SIGN_UP_REFUSED, logIn, signUp, signUpOrLogIn, signUpSchema, type LogInInput, type SignUpInput, type ThrottleOptions } from './users.ts';
export { createOrg, getMembership, listMyOrgs, requireOrgRole, type MyOrg } from './orgs.ts';
export { INVITE_TTL_MS, acceptInvite, createInvite, hashInviteToken, type AcceptedInvite, type CreatedInvite } from './invites.ts';
export { checkProjectAccess, requireProjectRole } from './project-access.ts';
