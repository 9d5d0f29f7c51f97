// What the sync indicator says, from the core's SyncStatus. Pure, so Vitest covers every state;
// the rule is that it never says "up to date" while anything written here is not on the relay.
import type { SyncStatus_Serialize as SyncStatus } from './bindings';
import type { StatusItem } from './status';
import { t } from './i18n.svelte';

export type SyncState = 'local' | 'joining' | 'syncing' | 'offline' | 'pending' | 'up_to_date';

export interface SyncView {
  state: SyncState;
  /** One short line for the indicator. */
  label: string;
  /** A longer explanation (tooltip, sync centre). */
  detail: string;
  tone: StatusItem['tone'];
}

/** "just now", "4 min", "3 h", "2 days". */
export function age(seconds: number): string {
  if (seconds < 60) return t('sync.justNow');
  const m = Math.floor(seconds / 60);
  if (m < 60) return t('sync.minutes', { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return t('sync.hours', { n: h });
  return t('sync.days', { count: Math.floor(h / 24) });
}

/** The indicator's state. `syncing`: an exchange is running now; `now`: UTC ms. */
export function syncView(status: SyncStatus | null, syncing: boolean, now: number): SyncView {
  if (!status || !status.workspace) {
    return { state: 'local', label: t('sync.local'), detail: t('sync.localDetail'), tone: 'attention' };
  }
  if (status.pending_admission) {
    return {
      state: 'joining',
      label: t('sync.joining'),
      detail: t('sync.joiningDetail'),
      tone: 'attention',
    };
  }
  const pending = status.pending ?? 0;
  const oldest = status.oldest_pending_seconds;
  const waiting =
    pending > 0
      ? oldest != null
        ? t('sync.notOnRelayOldest', { count: pending, age: age(oldest) })
        : t('sync.notOnRelay', { count: pending })
      : '';
  const last =
    status.last_sync != null
      ? t(status.last_sync && now - status.last_sync >= 60_000 ? 'sync.lastSyncAgo' : 'sync.lastSync', { age: age(Math.max(0, (now - status.last_sync) / 1000)) })
      : t('sync.neverSynced');
  if (syncing) return { state: 'syncing', label: t('sync.syncing'), detail: waiting || last, tone: 'attention' };
  if (status.last_error) {
    return {
      state: 'offline',
      label: pending > 0 ? t('sync.offlineWaiting', { count: pending }) : t('sync.offline'),
      detail: waiting
        ? t('sync.offlineDetailWaiting', { error: status.last_error, waiting, last })
        : t('sync.offlineDetail', { error: status.last_error, last }),
      tone: 'problem',
    };
  }
  if (pending > 0) return { state: 'pending', label: t('sync.waiting', { count: pending }), detail: t('sync.pendingDetail', { waiting, last }), tone: 'attention' };
  return { state: 'up_to_date', label: t('sync.upToDate'), detail: t('sync.upToDateDetail', { last }), tone: 'ok' };
}

/** What a change of this device has reached. */
export function travelled(change: { on_relay: boolean; received_by: string[] }): string {
  if (change.received_by.length) return t('sync.receivedBy', { devices: change.received_by.join(', ') });
  return change.on_relay ? t('sync.onRelay') : t('sync.onDeviceOnly');
}

// What each kind of change is, by the core's name (keys written out so the catalogue check sees them).
const CHANGE: Record<string, string> = {
  user_added: 'sync.change.user_added',
  user_removed: 'sync.change.user_removed',
  device_registered: 'sync.change.device_registered',
  user_role_changed: 'sync.change.user_role_changed',
  device_admitted: 'sync.change.device_admitted',
  device_removed: 'sync.change.device_removed',
  patient_registered: 'sync.change.patient_registered',
  patient_field_set: 'sync.change.patient_field_set',
  patients_linked: 'sync.change.patients_linked',
  encounter_opened: 'sync.change.encounter_opened',
  encounter_finished: 'sync.change.encounter_finished',
  encounter_reason_set: 'sync.change.encounter_reason_set',
  note_created: 'sync.change.note_created',
  note_revised: 'sync.change.note_revised',
  note_signed: 'sync.change.note_signed',
  addendum_signed: 'sync.change.addendum_signed',
  vital_recorded: 'sync.change.vital_recorded',
  vital_entered_in_error: 'sync.change.vital_entered_in_error',
  allergy_recorded: 'sync.change.allergy_recorded',
  allergy_removed: 'sync.change.allergy_removed',
  no_known_allergies: 'sync.change.no_known_allergies',
  medication_prescribed: 'sync.change.medication_prescribed',
  medication_stopped: 'sync.change.medication_stopped',
  problem_added: 'sync.change.problem_added',
  problem_resolved: 'sync.change.problem_resolved',
  attachment_added: 'sync.change.attachment_added',
  attachment_uploaded: 'sync.change.attachment_uploaded',
  legacy_record: 'sync.change.legacy_record',
  workspace_created: 'sync.change.workspace_created',
  invite_created: 'sync.change.invite_created',
  epoch_started: 'sync.change.epoch_started',
  unknown: 'sync.change.unknown',
};

/** A change's kind in words; a kind this build does not know is shown as the core named it. */
export function changeWords(action: string): string {
  const key = CHANGE[action];
  return key ? t(key) : action.replaceAll('_', ' ');
}
