import { describe, expect, it } from 'vitest';
import { shortcut } from './shortcuts';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; altKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}, tagName = 'BODY') => ({
  key: k,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
  shiftKey: false,
  ...mods,
  target: { tagName, isContentEditable: false } as unknown as EventTarget,
});

describe('keyboard shortcuts', () => {
  it('Ctrl+K and / search, Alt+V goes to vitals, Ctrl+L locks', () => {
    expect(shortcut(key('k', { ctrlKey: true }))).toBe('search');
    expect(shortcut(key('K', { metaKey: true }))).toBe('search');
    expect(shortcut(key('/'))).toBe('search');
    expect(shortcut(key('v', { altKey: true }))).toBe('vitals');
    expect(shortcut(key('l', { ctrlKey: true }))).toBe('lock');
  });
  it('a slash typed into a note is text, and plain letters are nothing', () => {
    expect(shortcut(key('/', {}, 'TEXTAREA'))).toBeNull();
    expect(shortcut(key('/', {}, 'INPUT'))).toBeNull();
    expect(shortcut(key('v'))).toBeNull();
    expect(shortcut(key('l', { ctrlKey: true, shiftKey: true }))).toBeNull();
  });
});
