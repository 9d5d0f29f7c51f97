import { describe, expect, it } from 'vitest';
import { frameFor, linePoints, measurements, place } from './growth';

describe('growth charts', () => {
  it('frames a chart around the lines and the child, at least a year wide', () => {
    const curve = [0, 6, 12, 18].map((m) => ({ age_days: Math.round(m * 30.4375), lines: [2 + m / 3, 2.5 + m / 3, 3.3 + m / 2, 4.5 + m / 2, 5 + m / 2] }));
    const frame = frameFor(curve, [{ months: 4, value: 6 }]);
    expect(frame.months).toBe(12);
    expect(frame.min).toBeLessThanOrEqual(2);
    expect(frame.max).toBeGreaterThanOrEqual(11);
    expect(frameFor(curve, [{ months: 14.2, value: 9 }]).months).toBe(18);
    // The oldest point is at the right edge's side, the lowest value at the bottom.
    expect(place(frame, 300, 100, 0, frame.min)).toEqual([0, 100]);
    expect(place(frame, 300, 100, 12, frame.max)).toEqual([300, 0]);
    expect(linePoints(curve, 2, frame, 300, 100).split(' ')).toHaveLength(3);
  });

  it('takes the measurements of one kind, in months', () => {
    const points = [
      { observed_at: 1, age_days: 61, age: { years: 0, months: 2, days: 61, unit: 'weeks' as const, text: '8 w' }, weight_kg: 5.1, length_cm: null, growth: { length_cm: null, weight_for_age: null, length_for_age: null, weight_for_length: null, standing_too_young: false } },
      { observed_at: 2, age_days: 122, age: { years: 0, months: 4, days: 122, unit: 'months' as const, text: '4 m' }, weight_kg: null, length_cm: 62, growth: { length_cm: 62, weight_for_age: null, length_for_age: null, weight_for_length: null, standing_too_young: false } },
    ];
    expect(measurements(points, 'weight').map((m) => m.value)).toEqual([5.1]);
    expect(measurements(points, 'length')[0]!.months).toBeCloseTo(4.008, 2);
  });
});
