import { describe, expect, it } from 'vitest';
import { CoreCallError, messageOf } from './api';

describe('errors from the bridge', () => {
  it('reads the core typed error', () => {
    expect(messageOf({ kind: 'invalid', message: 'value must be a number' })).toBe('value must be a number');
    expect(messageOf({ kind: 'locked' })).toBe('locked');
  });
  it('reads a plain string rejection instead of throwing a TypeError', () => {
    expect(messageOf('invalid args `value` for command `add_vital`')).toBe('invalid args `value` for command `add_vital`');
    const e = new CoreCallError('bridge said no' as never);
    expect(e.message).toBe('bridge said no');
    expect(e.locked).toBe(false);
    expect(messageOf(null)).toBe('The request failed.');
  });
});
