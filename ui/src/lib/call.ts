// What the call screen shows, computed from the core's call view: the words for each state,
// and the conversion of a decoded I420 picture into canvas pixels.
import { formatNumber, t } from './i18n.svelte';

/** The words the call screen shows for a call state; a peer not yet known has its own words. */
export function stateLabel(state: string | null, peer: string | null): string {
  const who = peer === null ? undefined : { who: peer };
  switch (state) {
    case 'waiting_room':
      return t('call.waitingRoom');
    case 'outgoing':
      return who ? t('call.outgoing', who) : t('call.outgoingUnknown');
    case 'incoming':
      return who ? t('call.incoming', who) : t('call.incomingUnknown');
    case 'connecting':
      return who ? t('call.connecting', who) : t('call.connectingUnknown');
    case 'connected':
      return who ? t('call.connected', who) : t('call.connectedUnknown');
    case 'reconnecting':
      return t('call.reconnecting');
    case 'ended':
      return t('call.ended');
    default:
      return t('call.none');
  }
}

/** Why a call ended, for a person. */
export function endedLabel(reason: string | null): string | null {
  switch (reason) {
    case null:
      return null;
    case 'hung_up':
      return t('call.endedHungUp');
    case 'declined':
      return t('call.endedDeclined');
    case 'busy':
      return t('call.endedBusy');
    case 'no_answer':
      return t('call.endedNoAnswer');
    case 'connection_failed':
      return t('call.endedConnectionFailed');
    case 'security':
      return t('call.endedSecurity');
    default:
      return t('call.endedOther', { reason });
  }
}

/** The 60-digit safety number in groups of five, as people read it aloud. */
export function groupDigits(digits: string): string[] {
  return digits.replace(/\s/g, '').match(/.{1,5}/g) ?? [];
}

/**
 * Converts an I420 picture (luma plane, then quarter-size U and V planes) to RGBA (BT.601
 * limited range), writing into `out` (width * height * 4 bytes).
 */
export function i420ToRgba(i420: Uint8Array, width: number, height: number, out: Uint8ClampedArray): void {
  const ySize = width * height;
  const cw = width >> 1;
  const uOff = ySize;
  const vOff = ySize + (ySize >> 2);
  for (let row = 0; row < height; row++) {
    const cRow = (row >> 1) * cw;
    for (let col = 0; col < width; col++) {
      const y = (i420[row * width + col]! - 16) * 1.164;
      const c = cRow + (col >> 1);
      const u = i420[uOff + c]! - 128;
      const v = i420[vOff + c]! - 128;
      const o = (row * width + col) * 4;
      out[o] = y + 1.596 * v;
      out[o + 1] = y - 0.392 * u - 0.813 * v;
      out[o + 2] = y + 2.017 * u;
      out[o + 3] = 255;
    }
  }
}

/** A remote picture as the core sends it: number, width, height (little-endian u32), I420. */
export interface RawFrame {
  n: number;
  width: number;
  height: number;
  i420: Uint8Array;
}

/** Reads what `call_frame_raw` answered; null when there was no newer picture or it is short. */
export function parseFrame(buf: ArrayBuffer | null | undefined): RawFrame | null {
  if (!buf || buf.byteLength < 12) return null;
  const head = new DataView(buf, 0, 12);
  const n = head.getUint32(0, true);
  const width = head.getUint32(4, true);
  const height = head.getUint32(8, true);
  const i420 = new Uint8Array(buf, 12);
  if (i420.length < width * height * 1.5) return null;
  return { n, width, height, i420 };
}

/** One line of the call-quality panel. */
export interface QualityRow {
  label: string;
  value: string;
}

// Each network path's words, by the core's candidate type (keys written out for the catalogue check).
const PATHS: Record<string, string> = {
  host: 'call.pathHost',
  srflx: 'call.pathRouter',
  prflx: 'call.pathRouter',
  relay: 'call.pathRelay',
};

const oneDecimal = { minimumFractionDigits: 1, maximumFractionDigits: 1 };

function kbit(bps: number): string {
  return bps >= 1000_000 ? `${formatNumber(bps / 1000_000, oneDecimal)} Mbit/s` : `${formatNumber(Math.round(bps / 1000))} kbit/s`;
}

/**
 * The call's numbers (the core's stats JSON) as the quality panel shows them: round trip,
 * loss, sending rate, picture size, codecs, encryption and the network path, in words. Rows
 * the core has not measured yet are left out; unreadable stats give no rows.
 */
export function qualityRows(statsJson: string | null | undefined): QualityRow[] {
  if (!statsJson) return [];
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(statsJson) as Record<string, unknown>;
  } catch {
    return [];
  }
  const rows: QualityRow[] = [];
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const rtt = num(s.rtt_ms);
  if (rtt !== null) rows.push({ label: t('call.roundTrip'), value: `${formatNumber(Math.round(rtt))} ms` });
  const loss = num(s.loss);
  if (loss !== null) rows.push({ label: t('call.packetsLost'), value: formatNumber(loss, { style: 'percent', ...oneDecimal }) });
  const bps = num(s.estimate_bps);
  if (bps !== null) rows.push({ label: t('call.linkCarries'), value: kbit(bps) });
  const res = s.remote_resolution;
  if (Array.isArray(res) && res.length === 2) rows.push({ label: t('call.theirPicture'), value: `${res[0]} × ${res[1]}` });
  if (Array.isArray(s.codecs) && s.codecs.length > 0) rows.push({ label: t('call.codecs'), value: s.codecs.join(', ') });
  if (typeof s.sframe_suite === 'string') {
    const suite = s.sframe_suite.startsWith('Aes256') ? 'AES-256-GCM' : 'AES-128-GCM';
    rows.push({
      label: t('call.encryption'),
      value: s.fingerprint_verified === true ? t('call.encryptionVerified', { suite }) : t('call.encryptionUnverified', { suite }),
    });
  }
  if (typeof s.path === 'string') {
    const path = PATHS[s.path];
    rows.push({ label: t('call.networkPath'), value: path ? t(path) : s.path });
  }
  return rows;
}
