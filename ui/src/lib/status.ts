// Turns the core's AppInfo into the lines of the status area. Pure, so Vitest covers it.
import type { AppInfo, ProfileState } from './bindings';
import type { SyncView } from './sync';
import { t } from './i18n.svelte';

/** How a status item should look: calm, needing attention, or a problem. */
export type Tone = 'ok' | 'attention' | 'problem';

/** One item of the status area. */
export interface StatusItem {
  id: 'profile' | 'storage' | 'sync' | 'version';
  label: string;
  detail: string;
  tone: Tone;
}

// Each profile state's words, as message keys (written out so the catalogue check sees them).
const PROFILE_TEXT: Record<ProfileState, { label: string; detail: string; tone: Tone }> = {
  notCreated: { label: 'status.noProfile', detail: 'status.noProfileDetail', tone: 'attention' },
  locked: { label: 'status.locked', detail: 'status.lockedDetail', tone: 'attention' },
  unlocked: { label: 'status.unlocked', detail: 'status.unlockedDetail', tone: 'ok' },
};

/** The status area's items, most important first. Never claims more than the core reported. */
export function statusItems(info: AppInfo, sync?: SyncView): StatusItem[] {
  const profile = PROFILE_TEXT[info.status.profile];
  const storage: StatusItem = info.status.dataDirWritable
    ? { id: 'storage', label: t('status.storageReady'), detail: info.dataDir, tone: 'ok' }
    : {
        id: 'storage',
        label: t('status.storageReadOnly'),
        detail: t('status.storageReadOnlyDetail', { dir: info.dataDir }),
        tone: 'problem',
      };
  return [
    { id: 'profile', label: t(profile.label), detail: t(profile.detail), tone: profile.tone },
    storage,
    // Without the core's sync status (locked, or no workspace), say that nothing leaves the
    // device rather than imply anything synced.
    sync
      ? { id: 'sync', label: sync.label, detail: sync.detail, tone: sync.tone }
      : { id: 'sync', label: t('status.local'), detail: t('status.localDetail'), tone: 'attention' },
    { id: 'version', label: t('status.version', { version: info.version }), detail: info.buildFeatures.join(', '), tone: 'ok' },
  ];
}

/** A short, human title for the build: "Outpost 0.1.0 (debug build)". */
export function buildTitle(info: AppInfo): string {
  const debug = info.buildFeatures.includes('debug-build');
  return t(debug ? 'status.titleDebug' : 'status.title', { version: info.version });
}
