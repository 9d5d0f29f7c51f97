import { afterEach, describe, expect, it } from 'vitest';
import { ageText } from './age';
import { setLocale } from './i18n.svelte';

import type { AgeUnit } from './bindings';

const age = (years: number, months: number, days: number, unit: AgeUnit, text: string) => ({ years, months, days, unit, text });

afterEach(() => setLocale('en'));

describe('ages as clinicians write them', () => {
  // The core's unit and text for each: the UI's English says what the CLI says.
  const cases = [age(0, 0, 10, 'days', '10 d'), age(0, 1, 45, 'weeks', '6 w'), age(0, 5, 160, 'months', '5 m'), age(2, 0, 731, 'years', '2 y'), age(2, 3, 823, 'years_months', '2 y 3 m'), age(47, 2, 17238, 'years', '47 y')];
  it('English matches the core text at every step', () => {
    for (const a of cases) expect(ageText(a)).toBe(a.text);
  });
  it('French says the same ages in its own units', () => {
    setLocale('fr');
    expect(cases.map(ageText)).toEqual(['10 j', '6 sem', '5 mois', '2 ans', '2 a 3 m', '47 ans']);
    expect(ageText(age(1, 0, 365, 'years', ''))).toBe('1 an');
  });
});
