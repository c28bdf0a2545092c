import { cleanText } from './text-rule.js';

/** Why a parser refused its input (docs/formats.md names each). */
export const FORMAT_ERROR_CODES = ['empty', 'truncated', 'bad_magic', 'unrecognized', 'malformed', 'too_large'] as const;
export type FormatErrorCode = (typeof FORMAT_ERROR_CODES)[number];

/**
 * The only error a parser in formats/ may throw. `offset` is a byte offset into
 * the input, `line` a 1-based line number, whichever applies.
 */
export class FormatError extends Error {
  readonly code: FormatErrorCode;
  readonly offset?: number;
  readonly line?: number;
  constructor(code: FormatErrorCode, message: string, where: { offset?: number; line?: number } = {}) {
    // Messages quote input; they leave formats/ under the same text rule as results.
    super(cleanText(message));
    this.name = 'FormatError';
    this.code = code;
    if (where.offset !== undefined) this.offset = where.offset;
    if (where.line !== undefined) this.line = where.line;
  }
  toJSON(): { code: FormatErrorCode; message: string; offset?: number; line?: number } {
    return {
      code: this.code,
      message: this.message,
      ...(this.offset !== undefined ? { offset: this.offset } : {}),
      ...(this.line !== undefined ? { line: this.line } : {}),
    };
  }
}

/** True for a FormatError, also across bundle copies of this module. */
export function isFormatError(e: unknown): e is FormatError {
  return e instanceof FormatError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'FormatError');
}

/** Refuses an empty input ('empty', "no bytes"): the first check of each parser of bytes. */
export function someBytes(bytes: Uint8Array): void {
  if (bytes.length === 0) throw new FormatError('empty', 'no bytes', { offset: 0 });
}

/** Throws FormatError 'malformed': one call where each parser repeated the construction (the collector bundle's budget). */
export function malformed(message: string, where?: { offset?: number; line?: number }): never {
  throw new FormatError('malformed', message, where);
}

/** Throws FormatError 'unrecognized' (see malformed). */
export function unrecognized(message: string, where?: { offset?: number; line?: number }): never {
  throw new FormatError('unrecognized', message, where);
}

/** Throws FormatError 'truncated' (see malformed). */
export function truncated(message: string, where?: { offset?: number; line?: number }): never {
  throw new FormatError('truncated', message, where);
}
