/**
 * Text from a host or an artifact, shown to an operator: in a terminal, a RESTORE.md or a
 * restore script's message. A terminal acts on control characters (an ESC sequence can
 * retitle the window, write to the clipboard or redraw a line; a carriage return overwrites
 * what came before), and bidi overrides make text read otherwise than it runs, so each is
 * shown as `\xNN` / `\uNNNN` instead. Pure; shared by the catalog and the collector.
 */

/** Characters JSON.stringify leaves raw that must not reach a terminal either: DEL, C1, line/paragraph separators, bidi overrides. */
const WIDE = '\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
/** Characters that must never reach a terminal or a command line raw: C0 and WIDE. */
const CONTROL = new RegExp(`[\\u0000-\\u001f${WIDE}]`);
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');
const hex = (c: string, digits: number) => c.charCodeAt(0).toString(16).padStart(digits, '0');

/** True when `s` holds a character `visible` would escape. */
export function hasControlChars(s: string): boolean {
  return CONTROL.test(s);
}

/** `s` on one line with every control character shown as `\xNN` / `\uNNNN`: safe to print and to put in Markdown. */
export function visible(s: string): string {
  return s.replace(CONTROL_ALL, (c) => (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** `visible` line by line: a report's own line breaks kept, anything else escaped. */
export function visibleLines(text: string): string {
  return text.split('\n').map(visible).join('\n');
}

/**
 * JSON for a terminal or a pipe: JSON.stringify escapes C0 but leaves DEL, C1, the line
 * separators and bidi overrides raw; those are written as `\uNNNN`, which any JSON reader
 * reads back as the same string (they can only occur inside strings).
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(new RegExp(`[${WIDE}]`, 'g'), (c) => `\\u${hex(c, 4)}`);
}

/**
 * One word of a command line an operator is shown and may paste (a path in `-o DIR`, `chown`,
 * `chmod`, a remote ssh command, a restore.sh step): as it is when it holds only characters no
 * shell treats specially, else single-quoted with each `'` written `'\''` — POSIX, so sh, dash,
 * busybox sh, ksh and bash read it back as the same word. A caller that prints it keeps control
 * characters out (`hasControlChars`): a quoted newline is correct sh but splits the line.
 */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
