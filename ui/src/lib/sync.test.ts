import { describe, expect, it } from 'vitest';
import type { SyncStatus_Serialize as SyncStatus } from './bindings';
import { age, syncView, travelled } from './sync';

const NOW = 1_800_000_000_000;
function status(over: Partial<SyncStatus> = {}): SyncStatus {
  return {
    workspace: 'ab'.repeat(16),
    pending: 0,
    oldest_pending_seconds: null,
    last_sync: NOW - 120_000,
    conflicts: 0,
    quarantined: 0,
    last_error: null,
    pending_admission: false,
    ...over,
  };
}

describe('syncView', () => {
  it('says when nothing leaves the device', () => {
    expect(syncView(status({ workspace: null }), false, NOW).state).toBe('local');
    expect(syncView(null, false, NOW).state).toBe('local');
  });

  it('never says up to date while changes wait', () => {
    const v = syncView(status({ pending: 3, oldest_pending_seconds: 7200 }), false, NOW);
    expect(v.state).toBe('pending');
    expect(v.label).toBe('3 changes waiting');
    expect(v.detail).toContain('oldest 2 h');
    expect(v.tone).not.toBe('ok');
  });

  it('is up to date only with nothing pending and no error', () => {
    const v = syncView(status(), false, NOW);
    expect(v).toMatchObject({ state: 'up_to_date', tone: 'ok' });
    expect(v.detail).toContain('last sync 2 min ago');
  });

  it('shows offline with what waits and that nothing is lost', () => {
    const v = syncView(status({ pending: 1, oldest_pending_seconds: 30, last_error: 'the relay is unreachable: connection refused' }), false, NOW);
    expect(v.state).toBe('offline');
    expect(v.label).toBe('Offline · 1 change waiting');
    expect(v.detail).toContain('Nothing is lost');
    expect(v.tone).toBe('problem');
  });

  it('shows a joining device as waiting to be admitted, and a running sync as syncing', () => {
    expect(syncView(status({ pending_admission: true }), false, NOW).state).toBe('joining');
    expect(syncView(status({ pending: 2 }), true, NOW).state).toBe('syncing');
  });
});

describe('age and travelled', () => {
  it('formats ages for people', () => {
    expect([age(5), age(90), age(3 * 3600), age(3 * 86400)]).toEqual(['just now', '1 min', '3 h', '3 days']);
  });
  it('says how far a change got, receipts first', () => {
    expect(travelled({ on_relay: false, received_by: [] })).toBe('On this device only');
    expect(travelled({ on_relay: true, received_by: [] })).toBe('On the relay');
    expect(travelled({ on_relay: true, received_by: ['Clinic laptop'] })).toBe('Received by Clinic laptop');
  });
});
