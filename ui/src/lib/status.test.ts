import { describe, expect, it } from 'vitest';
import type { AppInfo } from './bindings';
import { buildTitle, statusItems } from './status';

function info(overrides: Partial<AppInfo['status']> = {}, features = ['debug-build', 'target-linux']): AppInfo {
  return {
    version: '1.2.3',
    dataDir: '/home/nurse/.local/share/org.outpost.desktop',
    buildFeatures: features,
    status: { profile: 'notCreated', dataDirWritable: true, ...overrides },
  };
}

describe('statusItems', () => {
  it('puts the profile first and asks for a profile when there is none', () => {
    const items = statusItems(info());
    expect(items.map((i) => i.id)).toEqual(['profile', 'storage', 'sync', 'version']);
    expect(items[0]).toMatchObject({ label: 'No profile', tone: 'attention' });
  });

  it('reports each profile state differently', () => {
    const labels = (['notCreated', 'locked', 'unlocked'] as const).map((profile) => statusItems(info({ profile }))[0]?.label);
    expect(new Set(labels).size).toBe(3);
    expect(statusItems(info({ profile: 'unlocked' }))[0]?.tone).toBe('ok');
  });

  it('flags a read-only data directory as a problem and names it', () => {
    const storage = statusItems(info({ dataDirWritable: false })).find((i) => i.id === 'storage');
    expect(storage?.tone).toBe('problem');
    expect(storage?.detail).toContain('/home/nurse/.local/share/org.outpost.desktop');
  });

  it('never claims to be synced without the core saying so', () => {
    const sync = statusItems(info({ profile: 'unlocked' })).find((i) => i.id === 'sync');
    expect(sync?.label).toBe('This device only');
    expect(sync?.tone).not.toBe('ok');
    const told = statusItems(info({ profile: 'unlocked' }), { state: 'pending', label: '2 changes waiting', detail: 'x', tone: 'attention' });
    expect(told.find((i) => i.id === 'sync')?.label).toBe('2 changes waiting');
  });

  it('shows the version reported by the core', () => {
    expect(statusItems(info()).find((i) => i.id === 'version')?.label).toBe('v1.2.3');
  });
});

describe('buildTitle', () => {
  it('marks debug builds', () => {
    expect(buildTitle(info())).toBe('Outpost 1.2.3 (debug build)');
    expect(buildTitle(info({}, ['release-build']))).toBe('Outpost 1.2.3');
  });
});
