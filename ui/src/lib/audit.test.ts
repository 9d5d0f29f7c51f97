import { describe, expect, it } from 'vitest';
import { actionWords, isAlarming } from './audit';

describe('audit words', () => {
  it('says what happened in words, and shows an unknown code rather than hiding it', () => {
    expect(actionWords('note_signed')).toBe('signed a note');
    expect(actionWords('medication_prescribed')).toBe('prescribed a medication');
    expect(actionWords('something_new')).toBe('something new');
  });
  it('marks what a privacy officer must see', () => {
    expect(isAlarming('emergency_access')).toBe(true);
    expect(isAlarming('chart_read')).toBe(false);
  });
});
