// The core's errors in the person's language. The core sends each error as a code with named
// parameters (a field, a reason, a catalogue drug…) and its English text; English shows that
// text as it is, another language says the code's message with each parameter's words.
import { has, locale, t } from './i18n.svelte';

/** An error as the core sends it; older shapes (kind and message only) still read. */
export interface CoreErrorShape {
  kind?: unknown;
  code?: unknown;
  params?: unknown;
  message?: unknown;
}

/** The parameters whose values are words to translate (the others are numbers or ids). */
const WORDS = ['field', 'reason', 'thing', 'action', 'needs', 'role', 'relation', 'severity', 'allergy', 'what', 'hint', 'file'] as const;

/** The catalogue key for a word the core wrote in English: lower case, runs of other characters as `_`. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** A parameter's words in the current language, or as the core wrote them when unknown. */
function word(param: string, value: string): string {
  const key = `errors.${param}.${slug(value)}`;
  return has(key) ? t(key) : value;
}

/** The words of a core error, or null when it is not one. */
export function coreErrorText(error: CoreErrorShape): string | null {
  const english = typeof error.message === 'string' && error.message ? error.message : null;
  const code = typeof error.code === 'string' ? error.code : null;
  if (locale() !== 'en' && code && has(`errors.code.${code}`)) {
    const raw = (error.params && typeof error.params === 'object' ? error.params : {}) as Record<string, string>;
    const params: Record<string, string> = { ...raw };
    for (const name of WORDS) if (typeof raw[name] === 'string') params[name] = word(name, raw[name]);
    return t(`errors.code.${code}`, params);
  }
  if (english) return english;
  return typeof error.kind === 'string' ? error.kind : null;
}
