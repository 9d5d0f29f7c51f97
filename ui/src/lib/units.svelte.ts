// The clinic's unit for blood glucose, chosen on the device like its language: the core keeps
// every glucose in mg/dL (LOINC 2339-0), and the screens show and take it in the chosen unit.

/** The units offered: mg/dL, mmol/L (most of the world), g/L (France and francophone Africa). */
export const GLUCOSE_UNITS = ['mg/dL', 'mmol/L', 'g/L'] as const;
export type GlucoseUnit = (typeof GLUCOSE_UNITS)[number];

const STORAGE_KEY = 'outpost.glucoseUnit';
/** mg/dL in one mmol/L of glucose (molar mass 180.16 g/mol). */
const MGDL_PER_MMOL = 18.016;

function stored(): GlucoseUnit {
  const v = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  return (GLUCOSE_UNITS as readonly string[]).includes(v ?? '') ? (v as GlucoseUnit) : 'mg/dL';
}

let unit = $state<GlucoseUnit>(stored());

/** The unit glucose is shown and typed in. */
export function glucoseUnit(): GlucoseUnit {
  return unit;
}

/** Chooses the unit, at once and for the next start. */
export function setGlucoseUnit(next: GlucoseUnit): void {
  unit = next;
  if (typeof localStorage !== 'undefined') localStorage.setItem(STORAGE_KEY, next);
}

/** A stored mg/dL value in the chosen unit, rounded as that unit is written (99, 5.5, 0.99). */
export function glucoseShown(mgdl: number, to: GlucoseUnit = unit): number {
  if (to === 'mmol/L') return Math.round((mgdl / MGDL_PER_MMOL) * 10) / 10;
  if (to === 'g/L') return Math.round(mgdl) / 100;
  return Math.round(mgdl);
}

/** A value typed in the chosen unit, in mg/dL for the core. */
export function glucoseStored(typed: number, from: GlucoseUnit = unit): number {
  if (from === 'mmol/L') return Math.round(typed * MGDL_PER_MMOL * 10) / 10;
  if (from === 'g/L') return Math.round(typed * 100 * 10) / 10;
  return typed;
}
