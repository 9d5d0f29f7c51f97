// Where the user was (open chart, open note), kept outside the components so that an
// auto-lock and unlock brings them back to the same place: the same person only. Someone else
// unlocking the shared laptop starts from the patient list, never in the last user's patient.
export const where = $state<{ userId: string | null; patientId: string | null; noteId: string | null }>({
  userId: null,
  patientId: null,
  noteId: null,
});

/** Called when someone unlocks: the place is kept for the same person, forgotten for anyone else. */
export function arrive(userId: string) {
  if (where.userId !== userId) {
    where.patientId = null;
    where.noteId = null;
  }
  where.userId = userId;
}

// Work that must reach the core before it locks (a note typed since the last autosave).
const flushers = new Set<() => Promise<boolean>>();

/** Registers `flush` (true when everything is saved) to run before a lock the user asks for. */
export function beforeLock(flush: () => Promise<boolean>): () => void {
  flushers.add(flush);
  return () => flushers.delete(flush);
}

/** Runs every registered flush; false when something could not be saved. */
export async function flushBeforeLock(): Promise<boolean> {
  const results = await Promise.allSettled([...flushers].map((f) => f()));
  return results.every((r) => r.status === 'fulfilled' && r.value);
}
