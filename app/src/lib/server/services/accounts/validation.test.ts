import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ServiceError } from '../errors.ts';
import { emailSchema, isUuid, parseInput } from './validation.ts';

describe('account input validation', () => {
  it('trims and lower-cases emails before checking them', () => {
    expect(emailSchema.parse('  Ann@Example.COM ')).toBe('ann@example.com');
    expect(emailSchema.safeParse('not an email').success).toBe(false);
    expect(emailSchema.safeParse(`${'a'.repeat(250)}@x.io`).success).toBe(false);
  });

  it('turns zod failures into ServiceError invalid-input with field messages', () => {
    try {
      parseInput(z.object({ email: emailSchema }), { email: 'nope' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ServiceError);
      expect((e as ServiceError).code).toBe('invalid-input');
      expect((e as ServiceError).details.fieldErrors).toEqual({ email: ['Enter a valid email address.'] });
      expect((e as ServiceError).status).toBe(400);
    }
  });

  it('recognises uuids only', () => {
    expect(isUuid('0b6c2a52-7d8e-4c1a-9b1e-1f2a3b4c5d6e')).toBe(true);
    expect(isUuid("1' or 1=1")).toBe(false);
    expect(isUuid(undefined)).toBe(false);
  });
});
