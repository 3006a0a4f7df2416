import { escapeControlsInText } from '@glimpse/ir';

/**
 * What the command files share with the program in main.ts: the streams they write to and
 * the exit codes. A module of its own, so that main.ts imports the commands and nothing
 * imports main.ts back.
 */

/** Where a command writes: stdout and stderr, or a test's strings. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/**
 * The process's own streams. Everything the CLI prints is text, and names in it come from
 * files: no control character but line feed and tab reaches the terminal (an escape
 * sequence in a value name must not retitle or clear it).
 */
export const defaultIo: Io = {
  out: (s) => process.stdout.write(escapeControlsInText(s)),
  err: (s) => process.stderr.write(escapeControlsInText(s)),
};

/** Exit codes of docs/design.md. */
export const EXIT = { ok: 0, mismatch: 1, usage: 2, internal: 70 } as const;
