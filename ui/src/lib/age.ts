// A patient's age as clinicians write it, in the current language: the core gives the completed
// years, months and days, and the same steps as its English text ("10 d", "6 w", "2 y 3 m").
import type { Age } from './bindings';
import { t } from './i18n.svelte';

/** "10 d", "6 w", "5 m", "2 y 3 m", "47 y" (and "10 j", "6 sem", "5 mois", "2 a 3 m", "47 ans"). */
export function ageText(age: Age): string {
  const { years, months, days } = age;
  if (days < 28) return t('age.days', { count: days });
  if (years === 0 && months < 3) return t('age.weeks', { count: Math.floor(days / 7) });
  if (years === 0) return t('age.months', { count: months });
  if (years < 5 && months === 0) return t('age.years', { count: years });
  if (years < 5) return t('age.yearsMonths', { years, months });
  return t('age.years', { count: years });
}
