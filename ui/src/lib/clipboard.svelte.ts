// A recovery key copied to the clipboard does not stay there: a minute after it is copied the
// clipboard is emptied, so the key is not pasted by mistake into a chat, or left for the next
// person on a shared laptop. The shell empties it (and X's primary selection, which the page
// cannot reach) even when the window is unfocused; the page empties it too where it can.
import { commands } from './bindings';

/** How long a copied recovery key stays on the clipboard. */
export const KEY_CLIPBOARD_MS = 60_000;

/** Whether a copied key is waiting to be cleared (the screen says so). */
export const copied = $state({ pending: false });

let timer: ReturnType<typeof setTimeout> | undefined;

/**
 * Call on the `copy` event of an element showing a recovery key: empties the clipboard
 * `ms` later (again from the start at each copy).
 */
export function clearKeyFromClipboardLater(ms = KEY_CLIPBOARD_MS): void {
  clearTimeout(timer);
  copied.pending = true;
  commands.clearClipboardLater().catch(() => {});
  timer = setTimeout(() => {
    copied.pending = false;
    // Empties the clipboard whatever is on it by then (anything copied in that minute goes
    // too). Where the webview refuses a write without a click (unfocused), it stays; the
    // screen's words say "in a minute", not that it was done.
    navigator.clipboard?.writeText('').catch(() => {});
  }, ms);
}
