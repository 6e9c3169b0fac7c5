// Roles and what they may do in the console. The server is the authority
// (iam/acl); this table only decides which controls to show.
export const roles = ['owner', 'admin', 'developer', 'viewer'] as const;
export type RoleName = (typeof roles)[number];

const rank: Record<RoleName, number> = { owner: 4, admin: 3, developer: 2, viewer: 1 };

function rankOf(role: string | undefined): number {
  return role && role in rank ? rank[role as RoleName] : 0;
}

export function atLeast(role: string | undefined, min: RoleName): boolean {
  return rankOf(role) > 0 && rankOf(role) >= rankOf(min);
}

export type Permission =
  | 'users:read'
  | 'users:write'
  | 'tokens:read'
  | 'tokens:write'
  | 'audit:read'
  | 'instances:read'
  | 'instances:write';

const minimum: Record<Permission, RoleName> = {
  'users:read': 'viewer',
  'users:write': 'admin',
  'tokens:read': 'developer',
  'tokens:write': 'developer',
  'audit:read': 'admin',
  'instances:read': 'viewer',
  'instances:write': 'developer',
};

export function can(role: string | undefined, permission: Permission): boolean {
  return atLeast(role, minimum[permission]);
}

/** Roles a user with `role` may hand out: their own and those below it. */
export function grantableRoles(role: string | undefined): RoleName[] {
  return roles.filter((r) => rankOf(r) <= rankOf(role));
}

export const roleLabel: Record<RoleName, string> = {
  owner: 'Owner',
  admin: 'Admin',
  developer: 'Developer',
  viewer: 'Viewer',
};

export const roleColor: Record<RoleName, string> = {
  owner: 'gold',
  admin: 'volcano',
  developer: 'blue',
  viewer: 'default',
};
