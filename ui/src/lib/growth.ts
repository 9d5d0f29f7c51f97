// The geometry of a growth chart: WHO's lines and a child's points placed in an SVG box (the
// core computes the z-scores and what they mean).
import type { CurvePoint, GrowthPoint } from './bindings';

/** Days in a month as WHO counts them. */
export const DAYS_PER_MONTH = 30.4375;

/** A chart's box: the months shown and the value range that holds the lines and the points. */
export interface Frame {
  months: number;
  min: number;
  max: number;
}

/** Months to show: the child's age rounded up to the next half year, at least a year. */
export function frameFor(curve: CurvePoint[], values: { months: number; value: number }[]): Frame {
  const oldest = Math.max(0, ...values.map((v) => v.months));
  const months = Math.min(60, Math.max(12, Math.ceil((oldest + 1) / 6) * 6));
  const shown = curve.filter((c) => c.age_days / DAYS_PER_MONTH <= months + 0.5);
  const all = [...shown.flatMap((c) => c.lines.filter((l): l is number => l !== null)), ...values.map((v) => v.value)];
  const span = Math.max(...all) - Math.min(...all);
  return { months, min: Math.floor(Math.min(...all) - span * 0.03), max: Math.ceil(Math.max(...all) + span * 0.03) };
}

/** SVG x and y of a month and a value in a `width` × `height` box. */
export function place(frame: Frame, width: number, height: number, months: number, value: number): [number, number] {
  const x = (months / frame.months) * width;
  const y = height - ((value - frame.min) / (frame.max - frame.min)) * height;
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
}

/** The polyline of line `i` (0: −3 … 4: +3) within the frame. */
export function linePoints(curve: CurvePoint[], i: number, frame: Frame, width: number, height: number): string {
  return curve
    .filter((c) => c.age_days / DAYS_PER_MONTH <= frame.months + 0.01 && typeof c.lines[i] === 'number')
    .map((c) => place(frame, width, height, c.age_days / DAYS_PER_MONTH, c.lines[i] as number).join(','))
    .join(' ');
}

/** A child's measurements of one kind, as months and values. */
export function measurements(points: GrowthPoint[], kind: 'weight' | 'length'): { months: number; value: number; at: number }[] {
  return points.flatMap((p) => {
    const value = kind === 'weight' ? p.weight_kg : p.length_cm;
    return value === null || value === undefined || p.observed_at === null ? [] : [{ months: p.age_days / DAYS_PER_MONTH, value, at: p.observed_at }];
  });
}
