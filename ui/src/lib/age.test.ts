import { afterEach, describe, expect, it } from 'vitest';
import { ageText } from './age';
import { setLocale } from './i18n.svelte';

const age = (years: number, months: number, days: number, text: string) => ({ years, months, days, text });

afterEach(() => setLocale('en'));

describe('ages as clinicians write them', () => {
  // The core's own text for each, so the UI's English cannot drift from the CLI's.
  const cases = [age(0, 0, 10, '10 d'), age(0, 1, 45, '6 w'), age(0, 5, 160, '5 m'), age(2, 0, 731, '2 y'), age(2, 3, 823, '2 y 3 m'), age(47, 2, 17238, '47 y')];
  it('English matches the core text at every step', () => {
    for (const a of cases) expect(ageText(a)).toBe(a.text);
  });
  it('French says the same ages in its own units', () => {
    setLocale('fr');
    expect(cases.map(ageText)).toEqual(['10 j', '6 sem', '5 mois', '2 ans', '2 a 3 m', '47 ans']);
    expect(ageText(age(1, 0, 365, ''))).toBe('1 an');
  });
});
