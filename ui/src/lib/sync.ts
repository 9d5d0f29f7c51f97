// What the sync indicator says, from the core's SyncStatus. Pure, so Vitest covers every state;
// the rule is that it never says "up to date" while anything written here is not on the relay.
import type { SyncStatus_Serialize as SyncStatus } from './bindings';
import type { StatusItem } from './status';

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
  if (seconds < 60) return 'just now';
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} days`;
}

const changes = (n: number) => `${n} change${n === 1 ? '' : 's'}`;

/** The indicator's state. `syncing`: an exchange is running now; `now`: UTC ms. */
export function syncView(status: SyncStatus | null, syncing: boolean, now: number): SyncView {
  if (!status || !status.workspace) {
    return { state: 'local', label: 'This device only', detail: 'Not in a care-team workspace: nothing leaves this device.', tone: 'attention' };
  }
  if (status.pending_admission) {
    return {
      state: 'joining',
      label: 'Waiting to be admitted',
      detail: 'An admin’s device admits this one at its next sync; then the workspace’s charts arrive.',
      tone: 'attention',
    };
  }
  const pending = status.pending ?? 0;
  const oldest = status.oldest_pending_seconds;
  const waiting = pending > 0 ? `${changes(pending)} not yet on the relay${oldest != null ? ` (oldest ${age(oldest)})` : ''}` : '';
  const last = status.last_sync != null ? `last sync ${age(Math.max(0, (now - status.last_sync) / 1000))}${status.last_sync && now - status.last_sync >= 60_000 ? ' ago' : ''}` : 'never synced';
  if (syncing) return { state: 'syncing', label: 'Syncing…', detail: waiting || last, tone: 'attention' };
  if (status.last_error) {
    return {
      state: 'offline',
      label: pending > 0 ? `Offline · ${changes(pending)} waiting` : 'Offline',
      detail: `${status.last_error}. ${waiting ? `${waiting}; ` : ''}${last}. Nothing is lost: it syncs when the link returns.`,
      tone: 'problem',
    };
  }
  if (pending > 0) return { state: 'pending', label: `${changes(pending)} waiting`, detail: `${waiting}; ${last}.`, tone: 'attention' };
  return { state: 'up_to_date', label: 'Up to date', detail: `Everything written here is on the relay; ${last}.`, tone: 'ok' };
}

/** What a change of this device has reached. */
export function travelled(change: { on_relay: boolean; received_by: string[] }): string {
  if (change.received_by.length) return `Received by ${change.received_by.join(', ')}`;
  return change.on_relay ? 'On the relay' : 'On this device only';
}
