import { describe, expect, it } from 'vitest';
import type { Vital_Serialize as Vital } from './bindings';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RANGE_TEXT, flowsheetRows, formatVital, latestByKind, rangeText, trendPoints } from './vitals';
import { setLocale } from './i18n.svelte';

function v(kind: Vital['kind'], value: number, at: number, value2: number | null = null): Vital {
  return { id: `${kind}${at}`, patient_id: 'p', encounter_id: null, kind, value, value2, unit: '', observed_at: at, recorded_by: 'u', legacy: false, flag: null, entered_in_error: null };
}

describe('vitals', () => {
  it('has words for every range the core flags by (read from the Rust source)', () => {
    const source = readFileSync(join(__dirname, '..', '..', '..', 'crates', 'clinical', 'src', 'vitals.rs'), 'utf8');
    const pairs = [...source.matchAll(/(?:flag\(\s*Level::\w+,|band\(\s*value,\s*[\d.]+,\s*[\d.]+,)\s*"([a-z0-9_]+)",\s*"([^"]+)"/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(pairs.length).toBeGreaterThanOrEqual(19);
    expect(pairs.filter(([rule]) => !(rule in RANGE_TEXT)).map(([rule]) => rule)).toEqual([]);
    // The English words are the core's, number for number (a threshold changed in Rust must be
    // changed in the catalogues too).
    setLocale('en');
    expect(pairs.filter(([rule, range]) => rangeText({ rule, range: '' }) !== range)).toEqual([]);
  });
  it('says a range in French, glucose in the clinic unit, and the core words for an unknown rule', () => {
    setLocale('fr');
    expect(rangeText({ rule: 'temperature_fever', range: 'fever: 37.5 °C or more' })).toBe('fièvre : 37,5 °C ou plus');
    expect(rangeText({ rule: 'not_yet_known', range: 'a new range' })).toBe('a new range');
    setLocale('en');
    expect(rangeText({ rule: 'glucose_random', range: '' })).toBe('70–199 mg/dL (random)');
  });
  it('formats blood pressure as systolic/diastolic', () => {
    expect(formatVital(v('blood_pressure', 128, 1, 84))).toBe('128/84 mmHg');
    expect(formatVital(v('temperature', 38.1, 1))).toBe('38.1 °C');
  });
  it('keeps the latest reading per kind, in display order', () => {
    const latest = latestByKind([v('pulse', 70, 1), v('blood_pressure', 120, 1, 80), v('pulse', 88, 5), v('pulse', 60, 3)]);
    expect(latest.map((x) => [x.kind, x.value])).toEqual([
      ['blood_pressure', 120],
      ['pulse', 88],
    ]);
  });
  it('never takes a reading struck out as entered in error for the latest (the banner weight)', () => {
    const slip = { ...v('weight', 7, 9), entered_in_error: { by: 'u', at: 10, reason: 'typed 7.0 for 70' } };
    const latest = latestByKind([v('weight', 70, 5), slip]);
    expect(latest.map((x) => x.value)).toEqual([70]);
  });
  it('groups readings taken together into one flowsheet row, newest first', () => {
    const rows = flowsheetRows([v('pulse', 70, 1), v('temperature', 37, 1), v('pulse', 88, 5)]);
    expect(rows.map((r) => [r.at, Object.keys(r.byKind).sort()])).toEqual([
      [5, ['pulse']],
      [1, ['pulse', 'temperature']],
    ]);
  });
  it('draws a trend from oldest to newest scaled to the box', () => {
    const pts = trendPoints([v('pulse', 100, 3), v('pulse', 60, 1), v('pulse', 80, 2)], 'pulse', 100, 50);
    expect(pts).toBe('0.0,50.0 50.0,25.0 100.0,0.0');
    expect(trendPoints([v('pulse', 60, 1)], 'pulse', 100, 50)).toBe('');
  });
});

describe('readings as people type them', () => {
  it('takes a decimal point or a decimal comma', async () => {
    const { parseReading } = await import('./vitals');
    expect(parseReading('37.5')).toBe(37.5);
    expect(parseReading('37,5')).toBe(37.5);
    expect(parseReading(' 120 ')).toBe(120);
    expect(parseReading('.5')).toBe(0.5);
  });
  it('gives nothing, never 0 or NaN, for an empty or unreadable field', async () => {
    const { parseReading } = await import('./vitals');
    for (const t of ['', '   ', 'abc', '37,5,1', '1.2.3', '37.5,0', '12a']) expect(parseReading(t)).toBeNull();
  });
});
