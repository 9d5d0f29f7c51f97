import { describe, expect, it } from 'vitest';
import { isSigned, signatureView } from './signature';

describe('signatureView', () => {
  it('never shows an invalid signature as signed', () => {
    const v = signatureView({ state: 'invalid', reason: 'the text differs from what was signed' });
    expect(v.cls).toBe('invalid');
    expect(v.text).toContain('Signature invalid');
    expect(v.text).toContain('differs');
    expect(isSigned({ state: 'invalid', reason: 'x' })).toBe(false);
  });
  it('tells a verified signature from one recorded before signatures', () => {
    expect(signatureView({ state: 'valid', by: 'u', at: 5 })).toEqual({ text: 'Signed', cls: 'signed', at: 5 });
    expect(signatureView({ state: 'unverified', by: 'u', at: 6 }).cls).toBe('legacy');
    expect(isSigned({ state: 'unverified', by: 'u', at: 6 })).toBe(true);
    expect(signatureView({ state: 'unsigned' }).text).toBe('Draft');
  });
});
