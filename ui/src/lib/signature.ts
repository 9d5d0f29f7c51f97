// How a note's or addendum's signature state reads to a person. A signature that does not
// hold is never shown as signed.
import type { Signature } from './bindings';

export type SignatureView = { text: string; cls: 'signed' | 'draft' | 'invalid' | 'legacy'; at: number | null };

export function signatureView(sig: Signature): SignatureView {
  switch (sig.state) {
    case 'valid':
      return { text: 'Signed', cls: 'signed', at: sig.at };
    case 'unverified':
      return { text: 'Signed before signatures (unverified)', cls: 'legacy', at: sig.at };
    case 'invalid':
      return { text: `Signature invalid: ${sig.reason}`, cls: 'invalid', at: null };
    default:
      return { text: 'Draft', cls: 'draft', at: null };
  }
}

/** Whether the note counts as signed: it takes addenda, not edits. */
export function isSigned(sig: Signature): boolean {
  return sig.state === 'valid' || sig.state === 'unverified';
}
