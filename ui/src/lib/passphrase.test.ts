import { describe, expect, it } from 'vitest';
import { strength } from './passphrase';

describe('strength', () => {
  it('refuses short passphrases', () => {
    expect(strength('abc').label).toBe('too short');
    expect(strength('').score).toBe(0);
  });
  it('grows with length and variety', () => {
    const weak = strength('aaaaaaaa');
    const fair = strength('clinicpass7');
    const strong = strength('Correct horse battery staple 42!');
    expect(weak.score).toBeLessThan(fair.score);
    expect(fair.score).toBeLessThan(strong.score);
    expect(strong.label).toBe('strong');
  });
  it('does not reward repetition', () => {
    expect(strength('abababababababababab').bits).toBeLessThan(strength('a7#kQ2m!pZ9x').bits);
  });
});
