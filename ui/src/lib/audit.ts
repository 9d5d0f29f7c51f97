// The audit trail in plain words: what each recorded action means to the person reading it.
// The core records stable codes (`note_signed`); the words are the screen's.
import { t } from './i18n.svelte';

// Each action's words, by the core's code (keys written out so the catalogue check sees them).
const WORDS: Record<string, string> = {
  chart_read: 'audit.chartRead',
  attachment_read: 'audit.attachmentRead',
  unlock: 'audit.unlock',
  lock: 'audit.lock',
  unlock_failed: 'audit.unlockFailed',
  emergency_access: 'audit.emergencyAccess',
  backup_created: 'audit.backupCreated',
  backup_restored: 'audit.backupRestored',
  audit_verified: 'audit.auditVerified',
  audit_exported: 'audit.auditExported',
  profile_created: 'audit.profileCreated',
  rollback_detected: 'audit.rollbackDetected',
  legacy_audit_sealed: 'audit.legacyAuditSealed',
  passphrase_changed: 'audit.passphraseChanged',
  recovery_key_rotated: 'audit.recoveryKeyRotated',
  profile_file_altered: 'audit.profileFileAltered',
  database_rekeyed: 'audit.databaseRekeyed',
  user_added: 'audit.userAdded',
  user_removed: 'audit.userRemoved',
  user_role_changed: 'audit.userRoleChanged',
  device_registered: 'audit.deviceRegistered',
  device_admitted: 'audit.deviceAdmitted',
  device_removed: 'audit.deviceRemoved',
  patient_registered: 'audit.patientRegistered',
  patient_field_set: 'audit.patientFieldSet',
  patients_linked: 'audit.patientsLinked',
  encounter_opened: 'audit.encounterOpened',
  encounter_finished: 'audit.encounterFinished',
  encounter_reason_set: 'audit.encounterReasonSet',
  note_created: 'audit.noteCreated',
  note_revised: 'audit.noteRevised',
  note_signed: 'audit.noteSigned',
  addendum_signed: 'audit.addendumSigned',
  vital_recorded: 'audit.vitalRecorded',
  vital_entered_in_error: 'audit.vitalEnteredInError',
  allergy_recorded: 'audit.allergyRecorded',
  allergy_removed: 'audit.allergyRemoved',
  no_known_allergies: 'audit.noKnownAllergies',
  medication_prescribed: 'audit.medicationPrescribed',
  medication_stopped: 'audit.medicationStopped',
  problem_added: 'audit.problemAdded',
  problem_resolved: 'audit.problemResolved',
  attachment_added: 'audit.attachmentAdded',
  attachment_uploaded: 'audit.attachmentUploaded',
  workspace_created: 'audit.workspaceCreated',
  invite_created: 'audit.inviteCreated',
  epoch_started: 'audit.epochStarted',
  receipt: 'audit.receipt',
  legacy_record: 'audit.legacyRecord',
};

/** What an action code means, in words; an unknown code is shown as itself, never hidden. */
export function actionWords(code: string): string {
  const key = WORDS[code];
  return key ? t(key) : code.replaceAll('_', ' ');
}

/** Actions a privacy officer looks at twice. */
export function isAlarming(code: string): boolean {
  return ['emergency_access', 'rollback_detected', 'profile_file_altered', 'unlock_failed'].includes(code);
}
