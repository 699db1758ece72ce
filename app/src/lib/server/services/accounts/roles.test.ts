import { describe, expect, it } from 'vitest';
import { ServiceError } from '../errors.ts';
import { ROLES, assertRole, canEdit, canManageMembers, canReview, canView, isRole, type Role } from './roles.ts';

describe('role helpers', () => {
  const table: Array<[Role | null, boolean, boolean, boolean, boolean]> = [
    // role, edit, review, view, manage
    ['owner', true, true, true, true],
    ['editor', true, true, true, false],
    ['reviewer', false, true, true, false],
    ['viewer', false, false, true, false],
    [null, false, false, false, false],
  ];
  it.each(table)('%s', (role, edit, review, view, manage) => {
    expect(canEdit(role)).toBe(edit);
    expect(canReview(role)).toBe(review);
    expect(canView(role)).toBe(view);
    expect(canManageMembers(role)).toBe(manage);
  });

  it('isRole knows exactly the four roles', () => {
    expect(ROLES.every(isRole)).toBe(true);
    expect(isRole('admin')).toBe(false);
    expect(isRole(undefined)).toBe(false);
  });

  it('assertRole: not-found for non-members, forbidden for too little', () => {
    expect(() => assertRole('editor', ['owner', 'editor'])).not.toThrow();
    const code = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        return e instanceof ServiceError ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(() => assertRole(null, ['viewer']))).toBe('not-found');
    expect(code(() => assertRole('viewer', ['owner', 'editor']))).toBe('forbidden');
  });
});

describe('the role table', () => {
  it('every capability names every role, and the derived lists follow it', async () => {
    const { CAPABILITIES, PERMISSIONS, can, rolesWith } = await import('./roles.ts');
    for (const c of CAPABILITIES) {
      expect(Object.keys(PERMISSIONS[c]).sort()).toEqual([...ROLES].sort());
      for (const r of ROLES) expect(can(r, c)).toBe(rolesWith(c).includes(r));
      expect(can(null, c)).toBe(false);
      expect(can('admin' as Role, c)).toBe(false);
    }
    expect(rolesWith('manageMembers')).toEqual(['owner']);
    expect(rolesWith('comment')).toEqual(['owner', 'editor', 'reviewer']);
    expect(rolesWith('share')).toEqual(['owner', 'editor']);
  });

  it('an editor may not approve their own render; an owner and other members may', async () => {
    const { mayApprove } = await import('./roles.ts');
    expect(mayApprove('editor', 'u1', 'u1')).toBe(false);
    expect(mayApprove('editor', 'u1', 'u1', true)).toBe(true);
    expect(mayApprove('viewer', 'u1', 'u2', true)).toBe(false);
    expect(mayApprove('editor', 'u1', 'u2')).toBe(true);
    expect(mayApprove('owner', 'u1', 'u1')).toBe(true);
    expect(mayApprove('reviewer', 'u1', 'u2')).toBe(true);
    expect(mayApprove('viewer', 'u1', 'u2')).toBe(false);
    expect(mayApprove('editor', 'u1', null)).toBe(true);
  });
});
