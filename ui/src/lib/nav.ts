// The app's sections. Each says whether this build has it yet, so the frame never pretends.
export type SectionId = 'overview' | 'patients' | 'visits' | 'consults' | 'sync' | 'people' | 'audit' | 'backup' | 'about';

export interface Section {
  id: SectionId;
  label: string;
  /** Why the section is empty in this build, or null when it works. */
  pending: string | null;
}

export const SECTIONS: readonly Section[] = [
  { id: 'patients', label: 'Patients', pending: null },
  { id: 'visits', label: 'Video visits', pending: null },
  { id: 'consults', label: 'Consults', pending: 'Store-and-forward consults arrive with sync.' },
  { id: 'sync', label: 'Sync & team', pending: null },
  { id: 'people', label: 'People & keys', pending: null },
  { id: 'audit', label: 'Audit log', pending: null },
  { id: 'backup', label: 'Backup', pending: null },
  { id: 'overview', label: 'This device', pending: null },
  { id: 'about', label: 'About', pending: null },
];

/**
 * The sections a user of this role sees. A patient's own profile holds no clinic charts (the
 * core refuses them too); the menu does not offer what would only be refused.
 */
export function sectionsFor(role: string | undefined, caps?: { make_backups: boolean } | null): readonly Section[] {
  if (role === 'patient') return SECTIONS.filter((s) => s.id === 'visits' || s.id === 'overview' || s.id === 'about');
  // What the core would refuse (a nurse's backup) is not offered; the core's rules decide.
  if (caps && !caps.make_backups) return SECTIONS.filter((s) => s.id !== 'backup');
  return SECTIONS;
}
