// The app's keyboard shortcuts, one place for the keys and their words: Ctrl+K (or / outside a
// text field) searches patients, Alt+V goes to the vitals of the open chart, Ctrl+L locks.

/** What a shortcut does. */
export type Shortcut = 'search' | 'vitals' | 'lock';

/** The shortcuts as they are listed for people, with their catalogue keys. */
export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: 'Ctrl+K, /', what: 'shortcuts.search' },
  { keys: 'Alt+V', what: 'shortcuts.vitals' },
  { keys: 'Ctrl+L', what: 'shortcuts.lock' },
];

/** Whether the key was typed into a field (where "/" is a character, not a command). */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

/** The shortcut a key press means, if any. */
export function shortcut(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey' | 'target'>): Shortcut | null {
  const key = e.key.toLowerCase();
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && !e.altKey && !e.shiftKey && key === 'k') return 'search';
  if (ctrl && !e.altKey && !e.shiftKey && key === 'l') return 'lock';
  if (e.altKey && !ctrl && !e.shiftKey && key === 'v') return 'vitals';
  if (key === '/' && !ctrl && !e.altKey && !typing(e.target)) return 'search';
  return null;
}
