/**
 * Text from a file as it may be shown: names and messages reach terminals and logs, and a
 * model can name a value anything — an escape sequence that retitles or clears the terminal,
 * bidirectional overrides that reorder what is read, megabytes of one name. One place says
 * what is escaped and how long a line may get.
 */

/** C0 and C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The JSON escape of one character: a quoted name stays parseable. */
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `s` with each unsafe character written as its JSON escape (`\u` and four hex digits). */
export const escapeControls = (s: string): string => s.replace(UNSAFE, escape);

/** The same, less line feed and tab: for multi-line text (a table, a graph) as a whole. */
const UNSAFE_IN_TEXT =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Multi-line text with every unsafe character but line feed and tab escaped. */
export const escapeControlsInText = (s: string): string => s.replace(UNSAFE_IN_TEXT, escape);

/** The longest line glimpse prints about user input (an error, a summary), in UTF-16 units. */
export const MAX_LINE = 2000;

/** `s` cut to at most `max` characters, saying how many were left out. */
export function boundLine(s: string, max = MAX_LINE): string {
  if (s.length <= max) return s;
  // Room for the note: " … (N more characters)" is under 40 characters for any N here.
  const kept = Math.max(0, max - 40);
  return `${s.slice(0, kept)} … (${s.length - kept} more characters)`;
}

/** At most `max` items joined by ", ", then "and N more". */
export function cutList(items: readonly string[], max = 20): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** A line about user input as printed: its controls escaped, its length bounded. */
export const displayLine = (s: string): string => boundLine(escapeControls(s));
