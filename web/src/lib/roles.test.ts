import { describe, expect, it } from 'vitest';
import { atLeast, can, grantableRoles } from './roles';

describe('roles', () => {
  it('orders owner > admin > developer > viewer', () => {
    expect(atLeast('owner', 'admin')).toBe(true);
    expect(atLeast('admin', 'owner')).toBe(false);
    expect(atLeast('developer', 'developer')).toBe(true);
    expect(atLeast('viewer', 'developer')).toBe(false);
    expect(atLeast(undefined, 'viewer')).toBe(false);
    expect(atLeast('superuser', 'viewer')).toBe(false);
  });

  it('lets admins write users and developers write tokens', () => {
    expect(can('admin', 'users:write')).toBe(true);
    expect(can('developer', 'users:write')).toBe(false);
    expect(can('developer', 'tokens:write')).toBe(true);
    expect(can('viewer', 'tokens:write')).toBe(false);
  });

  it('grants only roles at or below your own', () => {
    expect(grantableRoles('owner')).toEqual(['owner', 'admin', 'developer', 'viewer']);
    expect(grantableRoles('admin')).toEqual(['admin', 'developer', 'viewer']);
    expect(grantableRoles('viewer')).toEqual(['viewer']);
  });
});
