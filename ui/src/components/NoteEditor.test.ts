// @vitest-environment jsdom
// The note editor mounted for real in jsdom, with the core's commands answered by promises each
// test settles itself and the autosave timer under fake timers: the order of saves, what Lock
// waits for, and what signing names are checked call by call.
import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { CommandError, Note_Serialize as Note, NoteRevision, Soap } from '../lib/bindings';
import { flushBeforeLock } from '../lib/where.svelte';
import NoteEditor from './NoteEditor.svelte';

const core = vi.hoisted(() => ({
  capabilities: vi.fn(),
  writeNote: vi.fn(),
  updateDraft: vi.fn(),
  signNote: vi.fn(),
  note: vi.fn(),
  addAddendum: vi.fn(),
  noteTemplates: vi.fn(),
}));
vi.mock('../lib/bindings', () => ({ commands: core }));

type Reply<T> = { status: 'ok'; data: T } | { status: 'error'; error: CommandError };
const ok = <T>(data: T): Reply<T> => ({ status: 'ok', data });
/** A refusal as the core sends it; code and parameters do not matter to the editor. */
const refused = (error: Pick<CommandError, 'kind' | 'message'>): Reply<never> => ({ status: 'error', error: { code: error.kind, params: {}, ...error } });

/**
 * A command's answers, one pending promise per call, settled by the test in its own time.
 * `stats` counts the calls still waiting for an answer (shared between commands to count both).
 */
function answeredLater(command: (typeof core)[keyof typeof core], stats = { inFlight: 0, mostInFlight: 0 }) {
  const pending: ((reply: Reply<unknown>) => void)[] = [];
  command.mockImplementation(() => {
    stats.inFlight += 1;
    stats.mostInFlight = Math.max(stats.mostInFlight, stats.inFlight);
    return new Promise<Reply<unknown>>((resolve) =>
      pending.push((reply) => {
        stats.inFlight -= 1;
        resolve(reply);
      }),
    );
  });
  /** Answers the `n`th call (from 0). */
  const answer = (n: number, reply: Reply<unknown>) => {
    const settle = pending[n];
    if (!settle) throw new Error(`call ${n} was never made (${pending.length} made)`);
    settle(reply);
  };
  return { answer, stats };
}

const SOAP: Soap = { subjective: 'Cough', objective: 'T 38.1', assessment: 'URTI', plan: 'Fluids' };
const draft = (over: Partial<Note> = {}): Note => ({
  id: 'n1',
  patient_id: 'p1',
  encounter_id: null,
  author: 'u1',
  soap: SOAP,
  created_at: 1,
  updated_at: 2,
  revision: 'r0',
  content_hash: 'h0',
  signature: { state: 'unsigned' },
  conflicts: [],
  addenda: [],
  legacy: false,
  ...over,
});

/** Lets every promise chain that can move on do so (the timers stay fake). */
async function settle() {
  for (let i = 0; i < 30; i++) await Promise.resolve();
  flushSync();
}

let target: HTMLElement;
let editor: ReturnType<typeof mount> | null = null;
let onerror: Mock<(err: unknown, retry?: () => void) => void>;
let onclose: Mock<() => void>;

async function open(note: Note | null) {
  target = document.body.appendChild(document.createElement('div'));
  onerror = vi.fn<(err: unknown, retry?: () => void) => void>();
  onclose = vi.fn<() => void>();
  editor = mount(NoteEditor, { target, props: { patientId: 'p1', note, onclose, onerror } });
  await settle();
}

function close() {
  if (editor) unmount(editor);
  editor = null;
  flushSync();
}

/** The field whose <label> says `name` (so a field that loses its label fails here too). */
function field(name: string): HTMLTextAreaElement {
  const label = [...target.querySelectorAll('label')].find((l) => l.firstChild?.textContent?.trim() === name);
  const control = label?.querySelector('textarea');
  if (!control) throw new Error(`no field labelled ${name}`);
  return control;
}

/** Types `text` into a field as a person does: the value changes and an input event follows. */
function type(name: string, text: string) {
  const control = field(name);
  control.value = text;
  control.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

function button(name: string): HTMLButtonElement {
  const b = [...target.querySelectorAll('button')].find((x) => x.textContent?.trim() === name);
  if (!b) throw new Error(`no button ${name}`);
  return b;
}

/** Ticks "I have reviewed this note" in the signing confirmation. */
function attest() {
  const box = target.querySelector<HTMLInputElement>('[aria-label="Confirm signature"] input[type=checkbox]');
  if (!box) throw new Error('no attestation to tick');
  box.click();
  flushSync();
}

const alertText = () => target.querySelector('[role=alert]')?.textContent ?? null;
const statusText = () => target.querySelector('[role=status]')?.textContent?.trim() ?? null;

/** One visit template, as the core lists them. */
const TEMPLATE = {
  id: 'hypertension',
  title: { en: 'Hypertension follow-up', fr: "Suivi de l'hypertension" },
  source: 'WHO HEARTS',
  vitals: ['blood_pressure', 'weight'],
  sections: {
    subjective: { en: 'Taking medicines as prescribed:', fr: 'Prise des médicaments :' },
    objective: { en: 'Second reading:', fr: 'Deuxième mesure :' },
    assessment: { en: 'Controlled / not controlled:', fr: 'Contrôlée / non contrôlée :' },
    plan: { en: 'Next visit:', fr: 'Prochaine consultation :' },
  },
};

beforeEach(() => {
  vi.useFakeTimers();
  vi.resetAllMocks();
  core.capabilities.mockResolvedValue(ok({ sign_notes: true }));
  core.noteTemplates.mockResolvedValue([TEMPLATE]);
});

afterEach(() => {
  close();
  target?.remove();
  vi.useRealTimers();
});

describe('autosave', () => {
  it('saves once typing pauses, one save at a time, each naming the revision the one before returned', async () => {
    const saves = answeredLater(core.updateDraft);
    await open(draft());
    type('Subjective', 'C');
    await vi.advanceTimersByTimeAsync(400);
    type('Subjective', 'Cough for a week');
    await vi.advanceTimersByTimeAsync(699);
    expect(core.updateDraft).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(core.updateDraft).toHaveBeenCalledTimes(1);
    expect(core.updateDraft).toHaveBeenLastCalledWith('n1', ['r0'], { ...SOAP, subjective: 'Cough for a week' });

    // More typing while that save is still with the core: its autosave waits for it.
    type('Subjective', 'Cough for a week, worse at night');
    await vi.advanceTimersByTimeAsync(700);
    await settle();
    expect(core.updateDraft).toHaveBeenCalledTimes(1);

    // The first returns revision r1: the second save starts only now, from r1 (from r0 the
    // core would take it for a save that never saw the first, and keep two versions).
    saves.answer(0, ok(draft({ revision: 'r1', soap: { ...SOAP, subjective: 'Cough for a week' } })));
    await settle();
    expect(core.updateDraft).toHaveBeenCalledTimes(2);
    expect(core.updateDraft).toHaveBeenLastCalledWith('n1', ['r1'], { ...SOAP, subjective: 'Cough for a week, worse at night' });
    saves.answer(1, ok(draft({ revision: 'r2', soap: { ...SOAP, subjective: 'Cough for a week, worse at night' } })));
    await settle();
    expect(saves.stats.mostInFlight).toBe(1);
    expect(statusText()).toMatch(/^Draft saved/);
    expect(onerror).not.toHaveBeenCalled();
  });

  it('a new note is written once: text typed while the first write is pending updates that note', async () => {
    const writes = answeredLater(core.writeNote);
    const saves = answeredLater(core.updateDraft, writes.stats);
    await open(null);
    type('Subjective', 'Fever');
    await vi.advanceTimersByTimeAsync(700);
    expect(core.writeNote).toHaveBeenCalledWith('p1', null, { subjective: 'Fever', objective: '', assessment: '', plan: '' });
    type('Subjective', 'Fever for two days');
    await vi.advanceTimersByTimeAsync(700);
    await settle();
    expect(core.updateDraft).not.toHaveBeenCalled();
    writes.answer(0, ok(draft({ id: 'n9', revision: 'w1', soap: { subjective: 'Fever', objective: '', assessment: '', plan: '' } })));
    await settle();
    expect(core.writeNote).toHaveBeenCalledTimes(1);
    expect(core.updateDraft).toHaveBeenCalledWith('n9', ['w1'], { subjective: 'Fever for two days', objective: '', assessment: '', plan: '' });
    saves.answer(0, ok(draft({ id: 'n9', revision: 'w2' })));
    await settle();
    expect(writes.stats.mostInFlight).toBe(1); // never a write and an update at once
  });
});

describe('Lock', () => {
  it('saves text typed within the autosave delay before it locks', async () => {
    const saves = answeredLater(core.updateDraft);
    await open(draft());
    type('Plan', 'Fluids; review in 48 h');
    await vi.advanceTimersByTimeAsync(300);
    let locked: boolean | undefined;
    const lock = flushBeforeLock().then((r) => (locked = r));
    await settle();
    expect(core.updateDraft).toHaveBeenCalledWith('n1', ['r0'], { ...SOAP, plan: 'Fluids; review in 48 h' });
    expect(locked).toBeUndefined(); // the lock waits for the core to have the text
    saves.answer(0, ok(draft({ revision: 'r1', soap: { ...SOAP, plan: 'Fluids; review in 48 h' } })));
    await lock;
    expect(locked).toBe(true);
    // The autosave that was due does not send the same text again.
    await vi.advanceTimersByTimeAsync(2000);
    expect(core.updateDraft).toHaveBeenCalledTimes(1);
  });

  it('waits for a save already under way, then saves what was typed after it', async () => {
    const saves = answeredLater(core.updateDraft);
    await open(draft());
    type('Plan', 'Plenty of fluids');
    await vi.advanceTimersByTimeAsync(700);
    type('Plan', 'Plenty of fluids and rest');
    let locked: boolean | undefined;
    const lock = flushBeforeLock().then((r) => (locked = r));
    await settle();
    expect(core.updateDraft).toHaveBeenCalledTimes(1);
    saves.answer(0, ok(draft({ revision: 'r1', soap: { ...SOAP, plan: 'Plenty of fluids' } })));
    await settle();
    expect(locked).toBeUndefined();
    expect(core.updateDraft).toHaveBeenLastCalledWith('n1', ['r1'], { ...SOAP, plan: 'Plenty of fluids and rest' });
    saves.answer(1, ok(draft({ revision: 'r2', soap: { ...SOAP, plan: 'Plenty of fluids and rest' } })));
    await lock;
    expect(locked).toBe(true);
    expect(saves.stats.mostInFlight).toBe(1);
  });

  it('is held back when the text cannot be saved; trying again saves it and lets the lock go on', async () => {
    const saves = answeredLater(core.updateDraft);
    await open(draft());
    type('Subjective', 'Fever, and a rash on both arms');
    const first = flushBeforeLock();
    await settle();
    saves.answer(0, refused({ kind: 'storage', message: 'storage error: disk full' }));
    expect(await first).toBe(false);
    await settle();
    expect(onerror).toHaveBeenCalledTimes(1);
    expect(alertText()).toMatch(/disk full/);
    expect(field('Subjective').value).toBe('Fever, and a rash on both arms');

    // Lock again (the Retry of the frame's message): the text the failed save left is sent.
    const second = flushBeforeLock();
    await settle();
    expect(core.updateDraft).toHaveBeenCalledTimes(2);
    expect(core.updateDraft).toHaveBeenLastCalledWith('n1', ['r0'], { ...SOAP, subjective: 'Fever, and a rash on both arms' });
    saves.answer(1, ok(draft({ revision: 'r1', soap: { ...SOAP, subjective: 'Fever, and a rash on both arms' } })));
    expect(await second).toBe(true);
    await settle();
    expect(alertText()).toBeNull();
  });

  it('goes ahead at once when nothing was typed', async () => {
    await open(draft());
    expect(await flushBeforeLock()).toBe(true);
    expect(core.updateDraft).not.toHaveBeenCalled();
  });

  it('is not held back by an editor that was closed, even one whose last save failed', async () => {
    core.updateDraft.mockResolvedValue(refused({ kind: 'storage', message: 'storage error: disk full' }));
    await open(draft());
    type('Subjective', 'Fever');
    expect(await flushBeforeLock()).toBe(false);
    close();
    const calls = core.updateDraft.mock.calls.length;
    expect(await flushBeforeLock()).toBe(true);
    expect(core.updateDraft).toHaveBeenCalledTimes(calls);
  });
});

describe('signing', () => {
  it('saves the text shown first, then signs that text by its content hash', async () => {
    const saves = answeredLater(core.updateDraft);
    const signs = answeredLater(core.signNote);
    await open(draft());
    type('Assessment', 'Community-acquired pneumonia');
    button('Sign note').click();
    await settle();
    expect(core.updateDraft).toHaveBeenCalledWith('n1', ['r0'], { ...SOAP, assessment: 'Community-acquired pneumonia' });
    expect(core.signNote).not.toHaveBeenCalled();
    saves.answer(0, ok(draft({ revision: 'r1', content_hash: 'h1', soap: { ...SOAP, assessment: 'Community-acquired pneumonia' } })));
    await settle();
    // Nothing is signed until the physician has seen the saved text and attested to it.
    expect(core.signNote).not.toHaveBeenCalled();
    const confirm = target.querySelector('[role=group][aria-label="Confirm signature"]');
    expect(confirm?.textContent).toMatch(/Community-acquired pneumonia/);
    expect(field('Assessment').readOnly).toBe(true);
    expect(button('Sign').disabled).toBe(true);
    attest();
    button('Sign').click();
    await settle();
    expect(core.signNote).toHaveBeenCalledWith('n1', 'h1');
    signs.answer(
      0,
      ok(draft({ revision: 'r2', content_hash: 'h1', soap: { ...SOAP, assessment: 'Community-acquired pneumonia' }, signature: { state: 'valid', by: 'u1', at: 5 } })),
    );
    await settle();
    expect(statusText()).toMatch(/^Signed/);
    expect(field('Assessment').readOnly).toBe(true);
    expect(target.querySelector('input[aria-label=Addendum]')).not.toBeNull();
  });

  it('when the note changed since it was shown, shows what would be signed now and signs nothing', async () => {
    const theirs = { ...SOAP, plan: 'Admit for observation' };
    core.signNote.mockResolvedValue(refused({ kind: 'conflict', message: 'this note changed since you last saw it' }));
    core.note.mockResolvedValue(ok(draft({ revision: 'r5', content_hash: 'h5', soap: theirs })));
    await open(draft());
    button('Sign note').click();
    await settle();
    attest();
    button('Sign').click();
    await settle();
    expect(core.updateDraft).not.toHaveBeenCalled();
    expect(core.signNote).toHaveBeenCalledWith('n1', 'h0');
    expect(core.note).toHaveBeenCalledWith('n1');
    expect(field('Plan').value).toBe('Admit for observation');
    expect(alertText()).toMatch(/changed since you last saw it/);
    expect(field('Plan').readOnly).toBe(false);
  });
});

describe('versions saved elsewhere', () => {
  it('keeps the typed text, offers both, and the merge names every current revision', async () => {
    const mine = { ...SOAP, plan: 'Review in 48 h' };
    const theirs: NoteRevision = { revision: 'r7', author: 'u2', at: 3, soap: { ...SOAP, plan: 'Fluids and paracetamol' } };
    core.updateDraft.mockResolvedValueOnce(refused({ kind: 'conflict', message: 'saved as a second version: both texts are kept' }));
    core.note.mockResolvedValue(ok(draft({ revision: 'r6', soap: mine, conflicts: [theirs] })));
    await open(draft());
    type('Plan', 'Review in 48 h');
    await vi.advanceTimersByTimeAsync(700);
    await settle();
    expect(alertText()).toMatch(/both texts are kept/);
    expect(field('Plan').value).toBe('Review in 48 h');
    expect(target.textContent).toContain('Fluids and paracetamol');
    expect(button('Sign note').disabled).toBe(true);

    // The merged text autosaves first, naming the one revision the editor shows: the core keeps
    // it as one more current version (r8 beside r7) and says so again.
    const merged = { ...SOAP, plan: 'Fluids and paracetamol; review in 48 h' };
    core.updateDraft.mockResolvedValueOnce(refused({ kind: 'conflict', message: 'saved as a second version: both texts are kept' }));
    core.note.mockResolvedValue(ok(draft({ revision: 'r8', soap: merged, conflicts: [theirs] })));
    type('Plan', merged.plan);
    await vi.advanceTimersByTimeAsync(700);
    await settle();
    expect(core.updateDraft).toHaveBeenLastCalledWith('n1', ['r6'], merged);
    // Saving it as the merge names every current version, so it replaces them all.
    core.updateDraft.mockResolvedValueOnce(ok(draft({ revision: 'r9', soap: merged })));
    button('Save the text above as the merged version').click();
    await settle();
    expect(core.updateDraft).toHaveBeenLastCalledWith('n1', ['r8', 'r7'], merged);
    expect(button('Sign note').disabled).toBe(false);
    expect(alertText()).toBeNull();
  });
});

describe('leaving the editor', () => {
  it('Back waits for the text to be saved, then closes', async () => {
    const saves = answeredLater(core.updateDraft);
    await open(draft());
    type('Objective', 'T 37.2');
    button('← Back to chart').click();
    await settle();
    expect(core.updateDraft).toHaveBeenCalledWith('n1', ['r0'], { ...SOAP, objective: 'T 37.2' });
    expect(onclose).not.toHaveBeenCalled();
    saves.answer(0, ok(draft({ revision: 'r1', soap: { ...SOAP, objective: 'T 37.2' } })));
    await settle();
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it('the editor going away (a call screen closing) still saves what was typed since the last autosave', async () => {
    answeredLater(core.updateDraft);
    await open(draft());
    type('Objective', 'T 37.2');
    close();
    await settle();
    expect(core.updateDraft).toHaveBeenCalledWith('n1', ['r0'], { ...SOAP, objective: 'T 37.2' });
  });
});

describe('visit templates', () => {
  /** Picks a template from the "Visit template" list as a person does. */
  function pick(id: string) {
    const label = [...target.querySelectorAll('label')].find((l) => l.firstChild?.textContent?.trim() === 'Visit template');
    const select = label?.querySelector('select');
    if (!select) throw new Error('no visit template list');
    select.value = id;
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
  }

  it('fills only the empty sections, keeps what was typed, lists its vitals, and saves', async () => {
    const writes = answeredLater(core.writeNote);
    await open(null);
    type('Assessment', 'Hypertension, poorly controlled');
    pick('hypertension');
    expect(field('Subjective').value).toBe('Taking medicines as prescribed:');
    expect(field('Assessment').value).toBe('Hypertension, poorly controlled');
    expect(target.querySelector('[data-testid=template-vitals]')?.textContent).toBe('Vitals to record at this visit: Blood pressure, Weight.');
    await vi.advanceTimersByTimeAsync(700);
    expect(core.writeNote).toHaveBeenCalledWith('p1', null, {
      subjective: 'Taking medicines as prescribed:',
      objective: 'Second reading:',
      assessment: 'Hypertension, poorly controlled',
      plan: 'Next visit:',
    });
    writes.answer(0, ok(draft({ id: 'n2' })));
    await settle();
  });

  it('offers no template on a signed note', async () => {
    await open(draft({ signature: { state: 'valid', by: 'u1', at: 3 } as never }));
    expect([...target.querySelectorAll('label')].some((l) => l.textContent?.includes('Visit template'))).toBe(false);
  });
});
