import { describe, expect, it } from 'vitest';
import { glucoseShown, glucoseStored } from './units.svelte';

describe('glucose units', () => {
  it('shows a stored mg/dL value in each unit, rounded as that unit is written', () => {
    expect(glucoseShown(99, 'mg/dL')).toBe(99);
    expect(glucoseShown(99, 'mmol/L')).toBe(5.5);
    expect(glucoseShown(99, 'g/L')).toBe(0.99);
    expect(glucoseShown(126, 'mmol/L')).toBe(7);
  });
  it('takes a typed value back to mg/dL, so 5.5 mmol/L is never stored as 5.5 mg/dL', () => {
    expect(glucoseStored(5.5, 'mmol/L')).toBe(99.1);
    expect(glucoseStored(1.1, 'g/L')).toBe(110);
    expect(glucoseStored(110, 'mg/dL')).toBe(110);
    // There and back in each unit stays the same reading.
    for (const unit of ['mmol/L', 'g/L'] as const) expect(glucoseShown(glucoseStored(7.2, unit), unit)).toBe(7.2);
  });
});
