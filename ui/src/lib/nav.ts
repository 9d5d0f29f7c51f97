// The app's sections. Each says whether this build has it yet, so the frame never pretends.
import { t } from './i18n.svelte';

export type SectionId = 'overview' | 'patients' | 'visits' | 'consults' | 'sync' | 'people' | 'audit' | 'alerts' | 'backup' | 'about';

export interface Section {
  id: SectionId;
  /** The message key of its name (shown with `t`). */
  label: string;
  /** The message key of why the section is empty in this build, or null when it works. */
  pending: string | null;
}

export const SECTIONS: readonly Section[] = [
  { id: 'patients', label: 'nav.patients', pending: null },
  { id: 'visits', label: 'nav.visits', pending: null },
  { id: 'consults', label: 'nav.consults', pending: 'nav.consultsPending' },
  { id: 'sync', label: 'nav.sync', pending: null },
  { id: 'people', label: 'nav.people', pending: null },
  { id: 'audit', label: 'nav.audit', pending: null },
  { id: 'alerts', label: 'nav.alerts', pending: null },
  { id: 'backup', label: 'nav.backup', pending: null },
  { id: 'overview', label: 'nav.overview', pending: null },
  { id: 'about', label: 'nav.about', pending: null },
];

/**
 * The sections a user of this role sees. A patient's own profile holds no clinic charts (the
 * core refuses them too); the menu does not offer what would only be refused.
 */
export function sectionsFor(role: string | undefined, caps?: { make_backups: boolean; manage?: boolean } | null): readonly Section[] {
  if (role === 'patient') return SECTIONS.filter((s) => s.id === 'visits' || s.id === 'overview' || s.id === 'about');
  // What the core would refuse (a nurse's backup, her review of alerts that may be about her)
  // is not offered; the core's rules decide.
  return SECTIONS.filter((s) => !caps || ((s.id !== 'backup' || caps.make_backups) && (s.id !== 'alerts' || caps.manage)));
}

// Each role's words, by the core's value (keys written out so the catalogue check sees them):
// as a person is described ("nurse"), and as a choice in a list ("Nurse").
const ROLE: Record<string, string> = {
  physician: 'nav.role.physician',
  nurse: 'nav.role.nurse',
  admin: 'nav.role.admin',
  patient: 'nav.role.patient',
  emergency: 'nav.role.emergency',
};
const ROLE_CHOICE: Record<string, string> = {
  physician: 'nav.roleChoice.physician',
  nurse: 'nav.roleChoice.nurse',
  admin: 'nav.roleChoice.admin',
};

/** A role in words; a role this build does not know is shown as the core named it. */
export function roleName(role: string): string {
  const key = ROLE[role];
  return key ? t(key) : role;
}

/** A role as an option in a list of roles to give someone. */
export function roleChoice(role: 'physician' | 'nurse' | 'admin'): string {
  return t(ROLE_CHOICE[role]!);
}
