// The audit trail in plain words: what each recorded action means to the person reading it.
// The core records stable codes (`note_signed`); the words are the screen's.

const WORDS: Record<string, string> = {
  chart_read: 'opened the chart',
  attachment_read: 'opened a photo or document',
  unlock: 'unlocked Outpost',
  lock: 'locked Outpost',
  unlock_failed: 'failed to unlock (wrong passphrase)',
  emergency_access: 'EMERGENCY ACCESS with the recovery key',
  backup_created: 'made a backup',
  backup_restored: 'restored a backup',
  audit_verified: 'verified the audit trail',
  audit_exported: 'exported the audit trail',
  profile_created: 'set up this profile',
  rollback_detected: 'PROFILE RESTORED TO AN EARLIER STATE',
  legacy_audit_sealed: 'sealed the old audit trail',
  passphrase_changed: 'changed their passphrase',
  recovery_key_rotated: 'issued a new recovery key',
  profile_file_altered: 'PROFILE FILE ALTERED OUTSIDE OUTPOST',
  database_rekeyed: 'gave the database a new key',
  user_added: 'added a user',
  user_removed: 'removed a user',
  user_role_changed: "changed a user's role",
  device_registered: 'registered a device',
  device_admitted: 'admitted a device to the team',
  device_removed: 'removed a device from the team',
  patient_registered: 'registered a patient',
  patient_field_set: 'edited patient details',
  patients_linked: 'linked two charts of one person',
  encounter_opened: 'started an encounter',
  encounter_finished: 'finished an encounter',
  encounter_reason_set: 'gave the reason for a visit',
  note_created: 'started a note',
  note_revised: 'saved a note draft',
  note_signed: 'signed a note',
  addendum_signed: 'signed an addendum',
  vital_recorded: 'recorded a vital sign',
  allergy_recorded: 'recorded an allergy',
  allergy_removed: 'removed an allergy',
  no_known_allergies: 'recorded no known drug allergies',
  medication_prescribed: 'prescribed a medication',
  medication_stopped: 'stopped a medication',
  problem_added: 'added a problem',
  problem_resolved: 'resolved a problem',
  attachment_added: 'added a photo or document',
  attachment_uploaded: 'uploaded a photo or document',
  workspace_created: 'founded the care team',
  invite_created: 'invited someone to the team',
  epoch_started: "changed the team's keys",
  receipt: 'acknowledged changes',
  legacy_record: 'imported a record from before signatures',
};

/** What an action code means, in words; an unknown code is shown as itself, never hidden. */
export function actionWords(code: string): string {
  return WORDS[code] ?? code.replaceAll('_', ' ');
}

/** Actions a privacy officer looks at twice. */
export function isAlarming(code: string): boolean {
  return ['emergency_access', 'rollback_detected', 'profile_file_altered', 'unlock_failed'].includes(code);
}
