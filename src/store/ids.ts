/** Random object ids: a kind prefix plus 20 base32 characters (100 bits), from the OS CSPRNG. */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `prefix` + 20 random base32 characters, e.g. `USR-K3Q…`. */
export function newObjectId(prefix: string, length = 20): string {
  const bytes = randomBytes(length);
  let s = prefix;
  // 256 is a multiple of 32, so masking keeps every character equally likely.
  for (const b of bytes) s += ALPHABET[b & 31];
  return s;
}
