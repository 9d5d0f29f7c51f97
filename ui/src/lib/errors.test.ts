// Every error the core can send is said in French: each code the shell maps has a message, and
// each word the store puts in a parameter (a field, a reason, a role…) has its translation. The
// lists come from the Rust sources themselves, so a new error without words fails here.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { coreErrorText, slug } from './errors';
import { has, setLocale } from './i18n.svelte';

const ROOT = join(__dirname, '..', '..', '..');

function rust(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rust(path);
    return name.endsWith('.rs') ? [readFileSync(path, 'utf8')] : [];
  });
}

/** The string literals given to `param: "..."` in the store's and core's errors. */
function literals(param: string): string[] {
  const found = new Set<string>();
  for (const text of [...rust(join(ROOT, 'crates', 'store', 'src')), ...rust(join(ROOT, 'crates', 'core', 'src'))]) {
    for (const m of text.matchAll(new RegExp(`\\b${param}: "([^"]+)"`, 'g'))) found.add(m[1]!);
  }
  return [...found];
}

afterEach(() => setLocale('en'));

describe('core errors in the person language', () => {
  it('every code the shell sends has a message', () => {
    const shell = readFileSync(join(ROOT, 'src-tauri', 'src', 'error.rs'), 'utf8');
    const codes = new Set([...shell.matchAll(/K::\w+,\s*"(\w+)"|ErrorKind::\w+,\s*"(\w+)"/g)].map((m) => m[1] ?? m[2]!));
    expect(codes.size).toBeGreaterThan(25);
    expect([...codes].filter((c) => !has(`errors.code.${c}`))).toEqual([]);
  });

  for (const param of ['field', 'reason', 'action', 'needs', 'what', 'hint']) {
    it(`every ${param} the store writes has words`, () => {
      const values = literals(param);
      expect(values.length).toBeGreaterThan(0);
      expect(values.filter((v) => !has(`errors.${param}.${slug(v)}`))).toEqual([]);
    });
  }

  it('every thing the store may not find has words', () => {
    const things = new Set<string>();
    for (const text of [...rust(join(ROOT, 'crates', 'store', 'src')), ...rust(join(ROOT, 'crates', 'core', 'src'))]) {
      for (const m of text.matchAll(/NotFound\("([^"]+)"\)/g)) things.add(m[1]!);
    }
    expect(things.size).toBeGreaterThan(5);
    expect([...things].filter((v) => !has(`errors.thing.${slug(v)}`))).toEqual([]);
  });

  it('roles, allergy relations and severities have words', () => {
    for (const [param, values] of [
      ['role', ['admin', 'physician', 'nurse', 'patient', 'emergency']],
      ['relation', ['is', 'belongs with', 'can cross-react with']],
      ['severity', ['mild', 'moderate', 'severe']],
    ] as const) {
      expect(values.filter((v) => !has(`errors.${param}.${slug(v)}`))).toEqual([]);
    }
  });

  it('every allergy group has words, by its id and by the name the store sends', () => {
    const tsv = readFileSync(join(ROOT, 'crates', 'clinical', 'data', 'allergy_groups.tsv'), 'utf8');
    const rows = tsv
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'))
      .map((line) => line.split('\t'));
    expect(rows.length).toBeGreaterThan(5);
    const names = rows.flatMap(([id, shown]) => [id!, shown!]).filter(Boolean);
    expect(names.filter((name) => !has(`errors.allergy.${slug(name)}`))).toEqual([]);
  });

  it('English shows the core words; French says the code with translated parameters', () => {
    const error = { kind: 'invalid', code: 'invalid', params: { field: 'systolic', reason: 'must be greater than the diastolic' }, message: 'invalid systolic: must be greater than the diastolic' };
    expect(coreErrorText(error)).toBe('invalid systolic: must be greater than the diastolic');
    setLocale('fr');
    const french = coreErrorText(error)!;
    expect(french).not.toContain('systolic');
    expect(french).not.toContain('must be');
  });

  it('an allergy conflict in French names the group in French', () => {
    const error = {
      kind: 'allergyConflict',
      code: 'allergyConflict',
      params: { drug: 'Amoxicillin', relation: 'belongs with', allergy: 'penicillins', severity: 'severe' },
      message: 'allergy conflict: Amoxicillin belongs with penicillins, and the patient has a severe allergy recorded; to prescribe it anyway, give an override reason',
    };
    setLocale('fr');
    const french = coreErrorText(error)!;
    expect(french).toContain('pénicillines');
    expect(french).toContain('sévère');
    expect(french).not.toMatch(/belongs|severe|penicillins/);
  });

  it('an unknown code falls back to the core English words, never to nothing', () => {
    setLocale('fr');
    expect(coreErrorText({ kind: 'storage', code: 'fromTheFuture', params: {}, message: 'something new' })).toBe('something new');
    expect(coreErrorText({ kind: 'locked' })).toBe('locked');
  });
});
