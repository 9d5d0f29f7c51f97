// The app's sections. Each says whether this build has it yet, so the frame never pretends.
export type SectionId = 'overview' | 'patients' | 'visits' | 'consults' | 'sync' | 'about';

export interface Section {
  id: SectionId;
  label: string;
  /** Why the section is empty in this build, or null when it works. */
  pending: string | null;
}

export const SECTIONS: readonly Section[] = [
  { id: 'overview', label: 'Overview', pending: null },
  { id: 'patients', label: 'Patients', pending: 'Charts arrive with the encrypted local store.' },
  { id: 'visits', label: 'Video visits', pending: 'Encrypted video visits arrive with the call engine.' },
  { id: 'consults', label: 'Consults', pending: 'Store-and-forward consults arrive with sync.' },
  { id: 'sync', label: 'Sync', pending: 'No relay is configured; nothing leaves this device.' },
  { id: 'about', label: 'About', pending: null },
];
