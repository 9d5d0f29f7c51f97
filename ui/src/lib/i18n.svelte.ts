// Every word the UI shows comes from a message catalogue (i18next), in the language chosen on
// this device; dates and numbers go through Intl in the same language. Reading `t` inside a
// component's markup ties it to the language, so a change re-renders without a reload.
import i18next from 'i18next';

/** The languages a person can choose, each named in its own language. */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
] as const;

/** A language a person can choose. `qps` is the pseudo-locale tests use to find hard-coded text. */
export type Locale = (typeof LANGUAGES)[number]['code'] | 'qps';

const STORAGE_KEY = 'outpost.locale';

type Catalogue = Record<string, unknown>;

/**
 * The catalogues, one JSON file per screen or area under `locales/<language>/`, merged so that
 * `locales/en/allergies.json`'s `title` is the key `allergies.title`.
 */
function catalogues(): Record<string, Catalogue> {
  const files = import.meta.glob<Catalogue>('./locales/*/*.json', { eager: true, import: 'default' });
  const out: Record<string, Catalogue> = {};
  for (const [path, messages] of Object.entries(files)) {
    const [, language, area] = /\.\/locales\/([^/]+)\/([^/]+)\.json$/.exec(path) ?? [];
    if (!language || !area) continue;
    (out[language] ??= {})[area] = messages;
  }
  return out;
}

// Letters made foreign but still legible, so a pseudo-localised screen can be read by a person
// and any text left in plain ASCII stands out as hard-coded.
const PSEUDO: Record<string, string> = {
  a: 'á', b: 'ƀ', c: 'ç', d: 'ð', e: 'é', f: 'ƒ', g: 'ĝ', h: 'ĥ', i: 'í', j: 'ĵ', k: 'ķ', l: 'ĺ', m: 'ɱ',
  n: 'ñ', o: 'ó', p: 'þ', q: 'ǫ', r: 'ŕ', s: 'š', t: 'ţ', u: 'ú', v: 'ṽ', w: 'ŵ', x: 'ẋ', y: 'ý', z: 'ž',
  A: 'Á', B: 'Ɓ', C: 'Ç', D: 'Ð', E: 'É', F: 'Ƒ', G: 'Ĝ', H: 'Ĥ', I: 'Í', J: 'Ĵ', K: 'Ķ', L: 'Ĺ', M: 'Ṁ',
  N: 'Ñ', O: 'Ó', P: 'Þ', Q: 'Ǫ', R: 'Ŕ', S: 'Š', T: 'Ţ', U: 'Ú', V: 'Ṽ', W: 'Ŵ', X: 'Ẋ', Y: 'Ý', Z: 'Ž',
};

/** One message in the pseudo-locale: letters accented, placeholders kept, the whole bracketed. */
export function pseudo(message: string): string {
  const parts = message.split(/(\{\{[^}]*\}\}|<[^>]*>)/);
  const body = parts.map((part, i) => (i % 2 === 1 ? part : part.replace(/[A-Za-z]/g, (c) => PSEUDO[c] ?? c))).join('');
  return `⟦${body}⟧`;
}

function pseudoCatalogue(value: unknown): unknown {
  if (typeof value === 'string') return pseudo(value);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pseudoCatalogue(v)]));
  }
  return value;
}

const loaded = catalogues();
const resources: Record<string, { translation: Catalogue }> = {};
for (const [language, messages] of Object.entries(loaded)) resources[language] = { translation: messages };
resources.qps = { translation: pseudoCatalogue(loaded.en ?? {}) as Catalogue };

/** The language this device was set to, else the system's when it is one we ship, else English. */
function initialLocale(): Locale {
  const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  if (stored === 'qps' || LANGUAGES.some((l) => l.code === stored)) return stored as Locale;
  const system = typeof navigator === 'undefined' ? '' : navigator.language.toLowerCase();
  return LANGUAGES.find((l) => system.startsWith(l.code))?.code ?? 'en';
}

let current = $state<Locale>(initialLocale());

void i18next.init({
  lng: current,
  fallbackLng: 'en',
  resources,
  initAsync: false,
  returnNull: false,
  // Svelte escapes what it renders; escaping here too would show "&amp;" in a name.
  interpolation: { escapeValue: false },
});

/** A message in the current language, with `{{name}}` parameters and `count` for plurals. */
export function t(key: string, params?: Record<string, unknown>): string {
  void current; // read so that markup using `t` re-renders when the language changes
  return i18next.t(key, params ?? {});
}

/** Whether a key exists in the English catalogue (for messages built from a core code). */
export function has(key: string): boolean {
  return i18next.exists(key, { lng: 'en' });
}

/** The current language. */
export function locale(): Locale {
  return current;
}

/** The language tag Intl formats with (the pseudo-locale formats as English). */
export function intlLocale(): string {
  return current === 'qps' ? 'en' : current;
}

/** Changes the language on this device, at once and for the next start. */
export function setLocale(next: Locale): void {
  current = next;
  void i18next.changeLanguage(next);
  if (typeof localStorage !== 'undefined') localStorage.setItem(STORAGE_KEY, next);
  if (typeof document !== 'undefined') document.documentElement.lang = intlLocale();
}

if (typeof document !== 'undefined') document.documentElement.lang = intlLocale();

/** A calendar date (no time), in the current language, as the clinic reads it. */
export function formatDate(ms: number | Date): string {
  void current;
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium' }).format(ms);
}

/** A date with the time of day, to the minute. */
export function formatDateTime(ms: number | Date): string {
  void current;
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(ms);
}

/** A date with the time to the second (the audit trail, where order within a minute matters). */
export function formatDateTimeSeconds(ms: number | Date): string {
  void current;
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(ms);
}

/** A time of day, to the minute. */
export function formatTime(ms: number | Date): string {
  void current;
  return new Intl.DateTimeFormat(intlLocale(), { timeStyle: 'short' }).format(ms);
}

/** A number with the language's decimal mark (37,5 in French). */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  void current;
  return new Intl.NumberFormat(intlLocale(), options).format(value);
}
