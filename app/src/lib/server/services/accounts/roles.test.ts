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
