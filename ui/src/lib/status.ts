// Turns the core's AppInfo into the lines of the status area. Pure, so Vitest covers it.
import type { AppInfo, ProfileState } from './bindings';
import type { SyncView } from './sync';

/** How a status item should look: calm, needing attention, or a problem. */
export type Tone = 'ok' | 'attention' | 'problem';

/** One item of the status area. */
export interface StatusItem {
  id: 'profile' | 'storage' | 'sync' | 'version';
  label: string;
  detail: string;
  tone: Tone;
}

const PROFILE_TEXT: Record<ProfileState, { label: string; detail: string; tone: Tone }> = {
  notCreated: { label: 'No profile', detail: 'Create a clinic profile to start charting.', tone: 'attention' },
  locked: { label: 'Locked', detail: 'Unlock with your passphrase to open charts.', tone: 'attention' },
  unlocked: { label: 'Unlocked', detail: 'Charts are open on this device.', tone: 'ok' },
};

/** The status area's items, most important first. Never claims more than the core reported. */
export function statusItems(info: AppInfo, sync?: SyncView): StatusItem[] {
  const profile = PROFILE_TEXT[info.status.profile];
  const storage: StatusItem = info.status.dataDirWritable
    ? { id: 'storage', label: 'Storage ready', detail: info.dataDir, tone: 'ok' }
    : {
        id: 'storage',
        label: 'Storage read-only',
        detail: `Cannot write to ${info.dataDir}. Free disk space or fix permissions; nothing has been changed.`,
        tone: 'problem',
      };
  return [
    { id: 'profile', ...profile },
    storage,
    // Without the core's sync status (locked, or no workspace), say that nothing leaves the
    // device rather than imply anything synced.
    sync
      ? { id: 'sync', label: sync.label, detail: sync.detail, tone: sync.tone }
      : { id: 'sync', label: 'This device only', detail: 'Not syncing: everything stays on this device.', tone: 'attention' },
    { id: 'version', label: `v${info.version}`, detail: info.buildFeatures.join(', '), tone: 'ok' },
  ];
}

/** A short, human title for the build: "Outpost 0.1.0 (debug build)". */
export function buildTitle(info: AppInfo): string {
  const debug = info.buildFeatures.includes('debug-build');
  return `Outpost ${info.version}${debug ? ' (debug build)' : ''}`;
}
