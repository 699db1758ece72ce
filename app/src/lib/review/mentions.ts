/**
 * @mentions in comment text: "@Full Name", "@email@address" or "@local-part" of a member's email,
 * case-insensitive, ending at a non-word character (so "@Ann" does not mention "Anna"). Pure.
 */
export interface Mentionable {
  id: string;
  name: string;
  email: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The handles that mention this member. */
export function mentionHandles(m: Mentionable): string[] {
  const email = m.email.toLowerCase();
  return [...new Set([m.name.trim(), email, email.split('@')[0]!].filter((h) => h.length >= 2))];
}

/** Members mentioned in `text`, each once, in member order. */
export function mentionedIn<M extends Mentionable>(text: string, members: readonly M[]): M[] {
  if (!text.includes('@')) return [];
  return members.filter((m) =>
    mentionHandles(m).some((h) => new RegExp(`(^|[^\\p{L}\\p{N}_.@-])@${escapeRegExp(h)}(?![\\p{L}\\p{N}_@-]|\\.[\\p{L}\\p{N}])`, 'iu').test(text)),
  );
}

/** Someone the comment box offers after "@": a name, and an email for members (guests see names only). */
export interface MentionCandidate {
  name: string;
  email: string | null;
}

/** The "@query" being typed at `caret`: where its "@" is and what follows it; null when none. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at < 0) return null;
  // The "@" opens a mention only at the start or after a non-word character (not inside an email).
  if (at > 0 && /[\p{L}\p{N}_.@-]/u.test(before[at - 1]!)) return null;
  const query = before.slice(at + 1);
  // A name has spaces, but a mention being typed has no line break and stays short.
  if (/[\n\r@]/.test(query) || query.length > 40 || /\s\s/.test(query)) return null;
  return { start: at, query };
}

/** Candidates whose name, email or email's local part starts with the query (any word of the name), best first. */
export function mentionSuggestions<C extends MentionCandidate>(people: readonly C[], query: string, limit = 8): C[] {
  const q = query.toLowerCase();
  const score = (p: C): number => {
    const name = p.name.toLowerCase();
    const email = (p.email ?? '').toLowerCase();
    if (name.startsWith(q) || email.startsWith(q)) return 0;
    if (name.split(/\s+/).some((w) => w.startsWith(q))) return 1;
    return -1;
  };
  return people
    .map((p) => ({ p, s: score(p) }))
    .filter((x) => x.s >= 0)
    .sort((a, b) => a.s - b.s || a.p.name.localeCompare(b.p.name))
    .slice(0, limit)
    .map((x) => x.p);
}

/** The handle inserted for a candidate: the name, or the email when another candidate shares the name. */
export function mentionHandle(p: MentionCandidate, people: readonly MentionCandidate[]): string {
  const clash = people.some((o) => o !== p && o.name.trim().toLowerCase() === p.name.trim().toLowerCase());
  return clash && p.email ? p.email : p.name.trim();
}

/** `text` with the "@query" at [start, caret) replaced by "@handle " and the caret after it. */
export function insertMention(text: string, start: number, caret: number, handle: string): { text: string; caret: number } {
  const inserted = `@${handle} `;
  const rest = text.slice(caret).replace(/^ /, '');
  return { text: text.slice(0, start) + inserted + rest, caret: start + inserted.length };
}
