// The catalogues are complete and consistent: every key the code names exists in English, French
// has exactly the English keys with the same parameters, and the pseudo-locale keeps parameters.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { has, pseudo, setLocale, t } from './i18n.svelte';

const LOCALES = join(__dirname, 'locales');
const SRC = join(__dirname, '..');

function flatten(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof value === 'string') out.set(prefix, value);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) for (const [fk, fv] of flatten(v, prefix ? `${prefix}.${k}` : k)) out.set(fk, fv);
  }
  return out;
}

function catalogue(language: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(join(LOCALES, language))) {
    const area = file.replace(/\.json$/, '');
    const parsed: unknown = JSON.parse(readFileSync(join(LOCALES, language, file), 'utf8'));
    for (const [k, v] of flatten(parsed, area)) out.set(k, v);
  }
  return out;
}

/** The base key a plural form belongs to (`removed_one` → `removed`). */
const base = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, '');
/** A key exists, as itself or as a plural. */
const known = (key: string) => has(key) || has(`${key}_other`);
const params = (message: string) => [...message.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1]!).sort();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'locales' ? [] : sources(path);
    return /\.(svelte|ts)$/.test(name) && !/\.test\.ts$/.test(name) && name !== 'bindings.ts' ? [path] : [];
  });
}

describe('message catalogues', () => {
  const en = catalogue('en');
  const fr = catalogue('fr');

  it('French has every English message and no other', () => {
    const enBases = new Set([...en.keys()].map(base));
    const frBases = new Set([...fr.keys()].map(base));
    expect([...enBases].filter((k) => !frBases.has(k))).toEqual([]);
    expect([...frBases].filter((k) => !enBases.has(k))).toEqual([]);
  });

  it('a French message takes the same parameters as the English one', () => {
    const paramsOf = (cat: Map<string, string>) => {
      const out = new Map<string, Set<string>>();
      for (const [k, v] of cat) for (const p of params(v)) (out.get(base(k)) ?? out.set(base(k), new Set()).get(base(k))!).add(p);
      return out;
    };
    const enParams = paramsOf(en);
    const frParams = paramsOf(fr);
    const differ = [...enParams.keys()].filter((k) => [...(enParams.get(k) ?? [])].sort().join() !== [...(frParams.get(k) ?? [])].sort().join());
    // `count` may be left out of a French singular ("Une note"): compare without it.
    const real = differ.filter((k) => {
      const a = [...(enParams.get(k) ?? [])].filter((p) => p !== 'count').sort().join();
      const b = [...(frParams.get(k) ?? [])].filter((p) => p !== 'count').sort().join();
      return a !== b;
    });
    expect(real).toEqual([]);
  });

  it('every key the code names exists in English', () => {
    const missing: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      // Literal keys: t('area.key') and keys written out in tables ('area.key' strings that
      // name a catalogue area).
      for (const m of text.matchAll(/\bt\(\s*'([\w.]+)'/g)) if (!known(m[1]!)) missing.push(`${file}: ${m[1]}`);
      for (const m of text.matchAll(/'([a-z][\w]*\.[\w.]+)'/g)) {
        const key = m[1]!;
        const area = key.split('.')[0]!;
        if ([...en.keys()].some((k) => k.startsWith(`${area}.`)) && !known(key)) missing.push(`${file}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('no message is empty, in either language', () => {
    expect([...en].filter(([, v]) => !v.trim()).map(([k]) => k)).toEqual([]);
    expect([...fr].filter(([, v]) => !v.trim()).map(([k]) => k)).toEqual([]);
  });

  it('switching the language changes the words, plurals included', () => {
    setLocale('fr');
    expect(t('allergies.removed', { count: 2 })).toBe('2 retirées');
    expect(t('allergies.removed', { count: 1 })).toBe('1 retirée');
    setLocale('en');
    expect(t('allergies.removed', { count: 2 })).toBe('2 removed');
  });

  it('the pseudo-locale keeps parameters and markup but changes every letter', () => {
    expect(pseudo('Remove the allergy to {{substance}}')).toBe('⟦Ŕéɱóṽé ţĥé áĺĺéŕĝý ţó {{substance}}⟧');
    setLocale('qps');
    expect(t('allergies.removeGroup', { substance: 'Amoxil' })).toBe('⟦Ŕéɱóṽé ţĥé áĺĺéŕĝý ţó Amoxil⟧');
    setLocale('en');
  });
});
