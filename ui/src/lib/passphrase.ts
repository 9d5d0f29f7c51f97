// Passphrase strength for the onboarding meter: rough entropy from length and character
// classes, with a penalty for repeats. Advice only; the store enforces the minimum length.
import { t } from './i18n.svelte';

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  label: 'too short' | 'weak' | 'fair' | 'good' | 'strong';
  bits: number;
}

export const MIN_LENGTH = 8;

export function strength(passphrase: string): Strength {
  if (passphrase.length < MIN_LENGTH) return { score: 0, label: 'too short', bits: 0 };
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/[0-9]/.test(passphrase)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(passphrase)) pool += 33;
  const distinct = new Set(passphrase).size;
  // Repeated characters add little: count length as the distinct characters plus a quarter of the rest.
  const effective = distinct + (passphrase.length - distinct) / 4;
  const bits = Math.round(effective * Math.log2(Math.max(pool, 2)));
  if (bits < 40) return { score: 1, label: 'weak', bits };
  if (bits < 60) return { score: 2, label: 'fair', bits };
  if (bits < 80) return { score: 3, label: 'good', bits };
  return { score: 4, label: 'strong', bits };
}

// Each strength's words (keys written out so the catalogue check sees them).
const WORDS: Record<Strength['label'], string> = {
  'too short': 'passphrase.tooShort',
  weak: 'passphrase.weak',
  fair: 'passphrase.fair',
  good: 'passphrase.good',
  strong: 'passphrase.strong',
};

/** A strength in words, for the meter: "Strength: good". */
export function strengthWords(s: Strength): string {
  return t('passphrase.meter', { strength: t(WORDS[s.label]) });
}
