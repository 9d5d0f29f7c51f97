// What the update server last offered, shared by the banner (after an automatic check at most
// once a day, which the core enforces) and the Updates panel in About. The release list and the
// download are verified by the core against Outpost's key; the page only shows and asks.
import { commands, type UpdateCheck } from './bindings';
import { call } from './api';

let latest = $state<UpdateCheck | null>(null);
let dismissed = $state(false);

/** The last answer that said something (not "not due"), or null before any. */
export function updateOffer(): UpdateCheck | null {
  return latest;
}

/** Whether the banner for an available update should show. */
export function updateBanner(): boolean {
  return latest?.kind === 'available' && !dismissed;
}

/** Hides the banner until the next start (the offer stays in About). */
export function dismissUpdateBanner(): void {
  dismissed = true;
}

/** Asks the core: `manual` for the person's button, else the daily automatic check. */
export async function checkForUpdates(manual: boolean): Promise<UpdateCheck> {
  const answer = await call(commands.checkForUpdate(manual));
  if (answer.kind !== 'notDue') latest = answer;
  return answer;
}

/** Forgets the offer once it is installed (a new check asks again). */
export function clearUpdateOffer(): void {
  latest = null;
}
