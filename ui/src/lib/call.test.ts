import { describe, expect, it } from 'vitest';
import { endedLabel, groupDigits, i420ToRgba, parseFrame, qualityRows, stateLabel } from './call';

describe('call screen words', () => {
  it('says the call is encrypted only once connected', () => {
    expect(stateLabel('connected', 'Dr Adjei')).toMatch(/Dr Adjei.*End-to-end encrypted/);
    expect(stateLabel('connecting', 'Dr Adjei')).not.toMatch(/encrypted/);
    expect(stateLabel(null, null)).toBe('No call.');
  });
  it('explains a security ending in plain words', () => {
    expect(endedLabel('security')).toMatch(/security check failed/);
    expect(endedLabel(null)).toBeNull();
  });
  it('groups the safety number in fives', () => {
    expect(groupDigits('123456789012345')).toEqual(['12345', '67890', '12345']);
    expect(groupDigits('12345 67890 12345')).toEqual(['12345', '67890', '12345']);
  });
});

describe('raw pictures from the core', () => {
  it('reads the header and refuses a short or empty answer', () => {
    const buf = new ArrayBuffer(12 + 6);
    const v = new DataView(buf);
    v.setUint32(0, 7, true);
    v.setUint32(4, 2, true);
    v.setUint32(8, 2, true);
    new Uint8Array(buf, 12).set([1, 2, 3, 4, 5, 6]);
    const f = parseFrame(buf)!;
    expect([f.n, f.width, f.height, [...f.i420]]).toEqual([7, 2, 2, [1, 2, 3, 4, 5, 6]]);
    expect(parseFrame(new ArrayBuffer(0))).toBeNull();
    expect(parseFrame(buf.slice(0, 15))).toBeNull();
  });
});

describe('I420 to canvas pixels', () => {
  it('maps black, white and a saturated red the way BT.601 does', () => {
    // 2x2 picture: one chroma sample for all four pixels.
    const rgba = new Uint8ClampedArray(16);
    i420ToRgba(new Uint8Array([16, 16, 16, 16, 128, 128]), 2, 2, rgba);
    expect([...rgba.slice(0, 4)]).toEqual([0, 0, 0, 255]);
    i420ToRgba(new Uint8Array([235, 235, 235, 235, 128, 128]), 2, 2, rgba);
    expect([...rgba.slice(0, 3)]).toEqual([255, 255, 255]);
    // Y=81, U=90, V=240 is red in BT.601.
    i420ToRgba(new Uint8Array([81, 81, 81, 81, 90, 240]), 2, 2, rgba);
    expect(rgba[0]).toBeGreaterThan(250);
    expect(rgba[1]).toBeLessThan(5);
    expect(rgba[2]).toBeLessThan(5);
  });
});

describe('call quality in words', () => {
  const stats = JSON.stringify({
    rtt_ms: 42.4, loss: 0.0123, estimate_bps: 812000, remote_resolution: [640, 360],
    codecs: ['H264', 'opus'], sframe_suite: 'Aes128GcmSha256_128', fingerprint_verified: true, path: 'relay',
  });

  it('says each number with its unit', () => {
    const rows = Object.fromEntries(qualityRows(stats).map((r) => [r.label, r.value]));
    expect(rows['Round trip']).toBe('42 ms');
    expect(rows['Packets lost']).toBe('1.2%');
    expect(rows['Link can carry']).toBe('812 kbit/s');
    expect(rows['Their picture']).toBe('640 × 360');
    expect(rows['Codecs']).toBe('H264, opus');
    expect(rows['Encryption']).toBe('End-to-end (SFrame AES-128-GCM), keys verified');
    expect(rows['Network path']).toMatch(/TURN server/);
  });

  it('warns when the keys were not verified and leaves out what is not measured', () => {
    const rows = qualityRows(JSON.stringify({ sframe_suite: 'Aes256GcmSha512_128', fingerprint_verified: false, rtt_ms: null }));
    expect(rows).toEqual([{ label: 'Encryption', value: 'End-to-end (SFrame AES-256-GCM), keys NOT verified' }]);
  });

  it('gives nothing for missing or unreadable stats', () => {
    expect(qualityRows(null)).toEqual([]);
    expect(qualityRows('{not json')).toEqual([]);
  });
});
