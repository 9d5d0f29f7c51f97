// What the call screen shows, computed from the core's call view: the words for each state,
// and the conversion of a decoded I420 picture into canvas pixels.

/** The words the call screen shows for a call state. */
export function stateLabel(state: string | null, peer: string | null): string {
  const who = peer ?? 'the other side';
  switch (state) {
    case 'waiting_room':
      return 'In the waiting room: your clinician will let you in.';
    case 'outgoing':
      return `Calling ${who}…`;
    case 'incoming':
      return `${who} is calling.`;
    case 'connecting':
      return `Connecting to ${who}…`;
    case 'connected':
      return `In a call with ${who}. End-to-end encrypted.`;
    case 'reconnecting':
      return 'The connection dropped. Reconnecting…';
    case 'ended':
      return 'Call ended.';
    default:
      return 'No call.';
  }
}

/** Why a call ended, for a person. */
export function endedLabel(reason: string | null): string | null {
  switch (reason) {
    case null:
      return null;
    case 'hung_up':
      return 'The call ended.';
    case 'declined':
      return 'The call was declined.';
    case 'busy':
      return 'They are in another call.';
    case 'no_answer':
      return 'No answer.';
    case 'connection_failed':
      return 'The call could not connect, or the connection was lost for too long.';
    case 'security':
      return 'The call was ended for your safety: a security check failed.';
    default:
      return `The call ended (${reason}).`;
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
