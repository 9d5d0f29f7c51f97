// How a note's or addendum's signature state reads to a person. A signature that does not
// hold is never shown as signed.
import type { Signature } from './bindings';
import { t } from './i18n.svelte';

export type SignatureView = { text: string; cls: 'signed' | 'draft' | 'invalid' | 'legacy'; at: number | null };

export function signatureView(sig: Signature): SignatureView {
  switch (sig.state) {
    case 'valid':
      return { text: t('signature.signed'), cls: 'signed', at: sig.at };
    case 'unverified':
      return { text: t('signature.unverified'), cls: 'legacy', at: sig.at };
    case 'invalid':
      return { text: t('signature.invalid', { reason: sig.reason }), cls: 'invalid', at: null };
    default:
      return { text: t('signature.draft'), cls: 'draft', at: null };
  }
}

/** Whether the note counts as signed: it takes addenda, not edits. */
export function isSigned(sig: Signature): boolean {
  return sig.state === 'valid' || sig.state === 'unverified';
}
