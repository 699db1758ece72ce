import { describe, expect, it } from 'vitest';
import { mentionedIn, mentionQuery, mentionSuggestions, mentionHandle, insertMention } from './mentions.ts';

const ann = { id: 'a', name: 'Ann Lee', email: 'ann@example.com' };
const anna = { id: 'b', name: 'Anna', email: 'anna.k@studio.io' };
const bob = { id: 'c', name: 'Bob', email: 'bob@example.com' };
const team = [ann, anna, bob];

describe('mentionedIn', () => {
  it('finds full names, emails and email local parts, case-insensitively', () => {
    expect(mentionedIn('@ann lee please look', team)).toEqual([ann]);
    expect(mentionedIn('cc @anna.k@studio.io.', team)).toEqual([anna]);
    expect(mentionedIn('@BOB: too loud', team)).toEqual([bob]);
    expect(mentionedIn('@anna and @ann, see frame 40', team)).toEqual([ann, anna]);
  });

  it('does not match a longer name, an email address in text, or text without @', () => {
    expect(mentionedIn('@Annabel is not here', team)).toEqual([]);
    expect(mentionedIn('write to me@bob.com', team)).toEqual([]);
    expect(mentionedIn('Bob and Ann Lee', team)).toEqual([]);
    expect(mentionedIn('@bobby', team)).toEqual([]);
  });

  it('treats regex characters in names literally', () => {
    const odd = { id: 'd', name: 'J. (DJ) Roe+', email: 'dj@example.com' };
    expect(mentionedIn('hey @j. (dj) roe+ ok', [odd])).toEqual([odd]);
    expect(mentionedIn('hey @jx (dj) roe+', [odd])).toEqual([]);
  });
});

describe('mention autocomplete helpers', () => {
  const people = [
    { name: 'Ann Lee', email: 'ann@studio.example' },
    { name: 'Anna Berg', email: 'anna@studio.example' },
    { name: 'Bob Stone', email: 'bob@studio.example' },
    { name: 'Bob Stone', email: 'bob2@other.example' },
  ];
  it('finds the @query being typed, not an email in the text', () => {
    expect(mentionQuery('hi @an', 6)).toEqual({ start: 3, query: 'an' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQuery('mail ann@studio', 15)).toBeNull();
    expect(mentionQuery('@ann\nnext', 9)).toBeNull();
    expect(mentionQuery('@Ann Le', 7)).toEqual({ start: 0, query: 'Ann Le' });
  });
  it('suggests by name, any word of it, or email, best first', () => {
    expect(mentionSuggestions(people, 'an').map((p) => p.email)).toEqual(['ann@studio.example', 'anna@studio.example']);
    expect(mentionSuggestions(people, 'berg').map((p) => p.name)).toEqual(['Anna Berg']);
    expect(mentionSuggestions(people, 'bob2').map((p) => p.email)).toEqual(['bob2@other.example']);
    expect(mentionSuggestions(people, 'zz')).toEqual([]);
  });
  it('inserts a handle the server parser resolves to exactly that member', () => {
    for (const p of people) {
      const handle = mentionHandle(p, people);
      const { text, caret } = insertMention('see @bo please', 4, 7, handle);
      expect(text.slice(caret)).toBe('please');
      const members = people.map((m, i) => ({ id: String(i), name: m.name, email: m.email }));
      const hit = mentionedIn(text, members).map((m) => m.email);
      expect(hit).toEqual(handle === p.name ? members.filter((m) => m.name === p.name).map((m) => m.email) : [p.email]);
    }
    expect(mentionHandle(people[0]!, people)).toBe('Ann Lee');
    expect(mentionHandle(people[2]!, people)).toBe('bob@studio.example');
  });
});
