// Vital signs for display: labels, units as people write them, and trend-chart geometry.
import type { Flag, VitalKind, Vital_Serialize as Vital } from './bindings';
import { formatNumber, t } from './i18n.svelte';
import { glucoseShown, glucoseUnit } from './units.svelte';

/** Each kind's name (a catalogue key, written out so the catalogue check sees it) and unit. */
export const VITAL_LABELS: Record<VitalKind, { labelKey: string; unit: string; twoValues?: boolean }> = {
  blood_pressure: { labelKey: 'vitals.bloodPressure', unit: 'mmHg', twoValues: true },
  pulse: { labelKey: 'vitals.pulse', unit: '/min' },
  temperature: { labelKey: 'vitals.temperature', unit: '°C' },
  spo2: { labelKey: 'vitals.spo2', unit: '%' },
  respiratory_rate: { labelKey: 'vitals.respiratoryRate', unit: '/min' },
  weight: { labelKey: 'vitals.weight', unit: 'kg' },
  height: { labelKey: 'vitals.height', unit: 'cm' },
  glucose: { labelKey: 'vitals.glucose', unit: 'mg/dL' },
  muac: { labelKey: 'vitals.muac', unit: 'cm' },
};

/** A kind's unit as shown and typed (glucose in the clinic's chosen unit). */
export function unitOf(kind: VitalKind): string {
  return kind === 'glucose' ? glucoseUnit() : VITAL_LABELS[kind].unit;
}

/** A kind's name, in the current language. */
export function vitalLabel(kind: VitalKind): string {
  return t(VITAL_LABELS[kind].labelKey);
}

/** One value in the language's decimal mark (38,1 in French), neither grouped nor rounded. */
const reading = (n: number | null) => (n == null ? '—' : formatNumber(n, { useGrouping: false, maximumFractionDigits: 10 }));

/** Readings grouped by when they were measured (a flowsheet's rows), newest first. */
export function flowsheetRows(vitals: readonly Vital[]): { at: number; byKind: Partial<Record<VitalKind, Vital>> }[] {
  const rows = new Map<number, Partial<Record<VitalKind, Vital>>>();
  for (const v of vitals) {
    const at = v.observed_at ?? 0;
    const row = rows.get(at) ?? {};
    row[v.kind] = v;
    rows.set(at, row);
  }
  return [...rows.entries()].sort((a, b) => b[0] - a[0]).map(([at, byKind]) => ({ at, byKind }));
}

/** "128/84 mmHg", "38.1 °C". */
export function formatVital(v: Pick<Vital, 'kind' | 'value' | 'value2'>): string {
  const value = v.kind === 'glucose' && v.value != null ? glucoseShown(v.value) : v.value;
  const main = v.value2 != null ? `${reading(value)}/${reading(v.value2)}` : reading(value);
  return `${main} ${unitOf(v.kind)}`;
}

/** Latest reading per kind, in display order. */
export function latestByKind(vitals: readonly Vital[]): Vital[] {
  const latest = new Map<VitalKind, Vital>();
  // A reading struck out as entered in error is never "the latest" (the banner's weight, a dose).
  for (const v of vitals.filter((r) => !r.entered_in_error)) {
    const prev = latest.get(v.kind);
    if (!prev || (v.observed_at ?? 0) >= (prev.observed_at ?? 0)) latest.set(v.kind, v);
  }
  return (Object.keys(VITAL_LABELS) as VitalKind[]).flatMap((k) => (latest.has(k) ? [latest.get(k)!] : []));
}

/** Polyline points ("x,y x,y") for a small trend chart of one kind, oldest to newest. */
export function trendPoints(vitals: readonly Vital[], kind: VitalKind, width: number, height: number): string {
  const series = vitals.filter((v) => v.kind === kind && v.value != null).sort((a, b) => (a.observed_at ?? 0) - (b.observed_at ?? 0));
  if (series.length < 2) return '';
  const values = series.map((v) => v.value as number);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  return series
    .map((v, i) => {
      const x = (i / (series.length - 1)) * width;
      const y = height - (((v.value as number) - min) / span) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/**
 * A number as a person typed it, with a decimal point or the decimal comma used across much
 * of the world ("37,5"); `null` for an empty or unreadable field, never 0 or NaN.
 */
export function parseReading(text: string): number | null {
  let t = text.trim().replace(/\s/g, '');
  if (t === '') return null;
  if (!t.includes('.') && (t.match(/,/g) ?? []).length === 1) t = t.replace(',', '.');
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** The core's ranges by rule (catalogue keys, written out so the catalogue check sees it); the
 * Rust source's rules are checked against this table in vitals.test.ts. */
export const RANGE_TEXT: Record<string, string> = {
  temperature_fever: 'vitals.range.temperature_fever',
  temperature_low: 'vitals.range.temperature_low',
  spo2: 'vitals.range.spo2',
  rr_under_2_months: 'vitals.range.rr_under_2_months',
  rr_2_11_months: 'vitals.range.rr_2_11_months',
  rr_12_59_months: 'vitals.range.rr_12_59_months',
  rr_5_11_years: 'vitals.range.rr_5_11_years',
  rr_adult: 'vitals.range.rr_adult',
  pulse_under_1_year: 'vitals.range.pulse_under_1_year',
  pulse_1_2_years: 'vitals.range.pulse_1_2_years',
  pulse_3_5_years: 'vitals.range.pulse_3_5_years',
  pulse_6_11_years: 'vitals.range.pulse_6_11_years',
  pulse_adult: 'vitals.range.pulse_adult',
  bp_severe: 'vitals.range.bp_severe',
  bp_high: 'vitals.range.bp_high',
  bp_low: 'vitals.range.bp_low',
  glucose_random: 'vitals.range.glucose_random',
  muac_severe: 'vitals.range.muac_severe',
  muac_moderate: 'vitals.range.muac_moderate',
};

/** The range a flag names, in the person's language (glucose in the clinic's unit); the
 * core's English words for a rule this screen does not know. */
export function rangeText(flag: Pick<Flag, 'rule' | 'range'>): string {
  const key = RANGE_TEXT[flag.rule];
  if (!key) return flag.range;
  return t(key, { low: reading(glucoseShown(70)), high: reading(glucoseShown(199)), unit: glucoseUnit() });
}
