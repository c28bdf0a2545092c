/** Token secrets: shown once, stored as SHA-256. */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../context.js';

/** SHA-256 hex of a token secret: what the tokens table stores. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new random token secret. The prefix makes leaked tokens easy to grep for. */
export function newSecret(): string {
  return `vrc_${randomBytes(32).toString('base64url')}`;
}

export interface NewToken {
  id: string;
  token: string;
  role: Role;
  host: string | null;
  name: string;
}
