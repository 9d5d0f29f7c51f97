// A patient's age as clinicians write it, in the current language: the core says which unit
// the age is written in and gives its parts; this only says them in words.
import type { Age } from './bindings';
import { t } from './i18n.svelte';

/** "10 d", "6 w", "5 m", "2 y 3 m", "47 y" (and "10 j", "6 sem", "5 mois", "2 a 3 m", "47 ans"). */
export function ageText(age: Age): string {
  switch (age.unit) {
    case 'days':
      return t('age.days', { count: age.days });
    case 'weeks':
      return t('age.weeks', { count: Math.floor(age.days / 7) });
    case 'months':
      return t('age.months', { count: age.months });
    case 'years_months':
      return t('age.yearsMonths', { years: age.years, months: age.months });
    case 'years':
      return t('age.years', { count: age.years });
  }
}
