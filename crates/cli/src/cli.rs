//! The command line: arguments and subcommands. The shape scripts rely on stays stable.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use outpost_core::store::{
    AllergyId, AttachmentId, EncounterId, MedicationId, NoteId, OpHash, PatientId, ProblemId,
    VitalId,
};

/// Outpost, headless: charts, notes, vitals, audit and backups from the command line.
#[derive(Debug, Parser)]
#[command(name = "outpost", version, about)]
pub struct Args {
    /// The profile directory.
    #[arg(long, env = "OUTPOST_PROFILE", global = true)]
    pub profile: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of OUTPOST_PASSPHRASE.
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Act as this user (name or id); defaults to the profile's first user.
    #[arg(long, env = "OUTPOST_USER", global = true)]
    pub user: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a profile with its first user; prints the recovery key once.
    Init {
        /// The first user's display name.
        #[arg(long)]
        name: String,
        /// physician, nurse or admin for a clinic profile; patient for a patient's own profile.
        #[arg(long, default_value = "physician")]
        role: String,
    },
    /// Patients.
    #[command(subcommand)]
    Patient(PatientCmd),
    /// Encounters (visits and consults).
    #[command(subcommand)]
    Encounter(EncounterCmd),
    /// SOAP notes.
    #[command(subcommand)]
    Note(NoteCmd),
    /// Vital signs.
    #[command(subcommand)]
    Vitals(VitalsCmd),
    /// Allergies and intolerances.
    #[command(subcommand)]
    Allergy(AllergyCmd),
    /// Medications: prescribe (checked against allergies), list, stop; the drug catalogue.
    #[command(subcommand)]
    Med(MedCmd),
    /// The problem list: diagnoses coded with ICD-10-CM.
    #[command(subcommand)]
    Problem(ProblemCmd),
    /// Photos and documents.
    #[command(subcommand)]
    Attach(AttachCmd),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Unusual-access alerts over the audit trail (for admins and physicians).
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// Encrypted backups.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// The recovery key (emergency access when every passphrase is lost).
    #[command(subcommand)]
    Recovery(RecoveryCmd),
    /// Signed updates from a file (a USB stick, another clinic laptop): verified exactly as an
    /// online update is, before anything changes.
    #[command(subcommand)]
    Update(UpdateCmd),
    /// The people who use this profile.
    #[command(subcommand)]
    User(UserCmd),
    /// Run a relay (the meeting point of a care team's devices; it sees only ciphertext).
    #[command(subcommand)]
    Relay(RelayCmd),
    /// Care-team workspaces: create, invite, join, members.
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// Exchange with the relay: push what this device wrote, pull what others wrote.
    Sync {
        /// Keep syncing: live updates from the relay, retries when the link drops.
        #[arg(long)]
        watch: bool,
    },
    /// What has synced: pending changes, the oldest one's age, the last sync, conflicts.
    Status,
    /// Concurrent edits waiting for a person to choose.
    #[command(subcommand)]
    Conflicts(ConflictsCmd),
    /// End-to-end encrypted calls between care-team devices (headless).
    #[command(subcommand)]
    Call(CallCmd),
    /// Video visits with patients: invite, join, admit.
    #[command(subcommand)]
    Visit(VisitCmd),
}

/// How a headless call runs: media, length, what it writes, what it shares.
#[derive(Debug, Clone, clap::Args)]
pub struct CallOpts {
    /// Send a synthetic test pattern and tone instead of the camera and microphone (builds
    /// without the `devices` feature have only these).
    #[arg(long)]
    pub synthetic: bool,
    /// How long to stay connected before hanging up, like 20s or 2m.
    #[arg(long, default_value = "20s")]
    pub duration: String,
    /// How long to wait for the other side (to answer, ring or admit), like 60s or 10m.
    #[arg(long, default_value = "60s")]
    pub wait: String,
    /// Write the call's numbers here as JSON when it ends.
    #[arg(long)]
    pub stats_json: Option<PathBuf>,
    /// Audio only.
    #[arg(long)]
    pub audio_only: bool,
    /// Send media only through the relay's TURN server, so the other side never learns this
    /// device's network addresses.
    #[arg(long)]
    pub relay_only: bool,
    /// Send this chat line once connected (repeatable).
    #[arg(long)]
    pub chat: Vec<String>,
    /// Share this file once connected (repeatable).
    #[arg(long)]
    pub send_file: Vec<PathBuf>,
    /// Save files the other side shares into this directory.
    #[arg(long)]
    pub receive_dir: Option<PathBuf>,
}

/// `outpost call ...`
#[derive(Debug, Subcommand)]
pub enum CallCmd {
    /// Calls a member (user id: their device) or a device id, and runs the call.
    Start {
        /// The member's user id or the device id.
        #[arg(long)]
        to: String,
        /// How the call runs.
        #[command(flatten)]
        opts: CallOpts,
    },
    /// Waits for the next incoming call, accepts it and runs it.
    Answer {
        /// How the call runs.
        #[command(flatten)]
        opts: CallOpts,
    },
}

/// `outpost visit ...`
#[derive(Debug, Subcommand)]
pub enum VisitCmd {
    /// Creates a visit invite for a patient's chart; prints the one-line code to give them.
    Invite {
        /// The patient (chart id).
        #[arg(long)]
        patient: PatientId,
        /// How long the code works, like 2h or 1d.
        #[arg(long, default_value = "1d")]
        expires: String,
    },
    /// From a patient's own profile: knocks with a visit code and waits to be admitted.
    Join {
        /// The visit code.
        code: String,
        /// The name the physician sees in the waiting room.
        #[arg(long)]
        name: Option<String>,
        /// How the call runs.
        #[command(flatten)]
        opts: CallOpts,
    },
    /// Admits a patient from the waiting room and runs the call.
    Admit {
        /// Admit whoever knocks first.
        #[arg(long, conflicts_with = "patient")]
        first: bool,
        /// Admit this patient (chart id) only.
        #[arg(long)]
        patient: Option<PatientId>,
        /// How the call runs.
        #[command(flatten)]
        opts: CallOpts,
    },
}

/// `outpost workspace ...`
#[derive(Debug, Subcommand)]
pub enum WorkspaceCmd {
    /// Found a workspace on this profile (its current user manages it); prints its id.
    Create {
        /// The workspace's name.
        #[arg(long)]
        name: String,
        /// The relay's URL.
        #[arg(long)]
        relay: String,
    },
    /// Create an invite; prints the code on one line.
    Invite {
        /// physician, nurse or admin.
        #[arg(long)]
        role: String,
        /// How long it lasts: 30m, 12h, 7d (at most 30d).
        #[arg(long, default_value = "7d")]
        expires: String,
    },
    /// Join a workspace with an invite code (on a profile with no records yet), then sync.
    Join {
        /// The invite code.
        code: String,
        /// This device's name, as the care team will see it.
        #[arg(long)]
        device_name: Option<String>,
    },
    /// Members, per person and device, with safety numbers.
    Members,
    /// Mark a member's safety number as compared in person or by phone.
    Verify {
        /// User id.
        user: String,
    },
    /// Remove a member (user id) or one device (device id): a new key epoch follows.
    Remove {
        /// User or device id.
        id: String,
    },
}

/// `outpost conflicts ...`
#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// Open conflicts.
    List,
    /// Resolve one: choose a value, or give a new one.
    Resolve {
        /// Conflict id (from `conflicts list`).
        id: String,
        /// The value to keep (its id).
        #[arg(long, conflicts_with = "value", required_unless_present = "value")]
        choose: Option<String>,
        /// A new value.
        #[arg(long)]
        value: Option<String>,
    },
}

/// `outpost relay ...`
#[derive(Debug, Subcommand)]
pub enum RelayCmd {
    /// Serve in the foreground until SIGTERM or SIGINT; the first line printed is
    /// "listening on URL".
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: std::net::SocketAddr,
        /// Directory for the relay's database.
        #[arg(long)]
        data: PathBuf,
        /// PEM certificate chain, for HTTPS (with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key, for HTTPS (with --tls-cert).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// A TURN server calls may use, like `turn:turn.example.org:3478?transport=udp`
        /// (repeatable; with --turn-secret-file).
        #[arg(long, requires = "turn_secret_file")]
        turn_url: Vec<String>,
        /// File holding the secret shared with the TURN server (coturn's
        /// `static-auth-secret`); read once at start, never printed.
        #[arg(long, requires = "turn_url")]
        turn_secret_file: Option<PathBuf>,
        /// How long TURN credentials work, like 12h.
        #[arg(long, default_value = "12h")]
        turn_ttl: String,
    },
}

/// `outpost patient ...`
#[derive(Debug, Subcommand)]
pub enum PatientCmd {
    /// Register a patient; prints the new id.
    Add {
        /// Given name(s).
        #[arg(long)]
        given: String,
        /// Family name.
        #[arg(long)]
        family: String,
        /// YYYY-MM-DD.
        #[arg(
            long,
            required_unless_present = "estimated_age",
            conflicts_with = "estimated_age"
        )]
        birth_date: Option<String>,
        /// When the birth date is unknown: the age in years ("about 40"); the birth date is
        /// then estimated and marked so.
        #[arg(long)]
        estimated_age: Option<u32>,
        /// female, male, other or unknown.
        #[arg(long)]
        sex: Option<String>,
        /// The clinic's patient number.
        #[arg(long)]
        clinic_id: Option<String>,
        /// Phone or address.
        #[arg(long)]
        contact: Option<String>,
        /// A national identity number (or another identity card).
        #[arg(long)]
        national_id: Option<String>,
        /// A child's parent or guardian: name and relation.
        #[arg(long)]
        guardian: Option<String>,
    },
    /// List patients, optionally filtered: every word must be in the name, clinic number,
    /// phone or identity number (a four-digit year also matches the birth year). One page at a time; `--json` prints `{"patients": [...], "more": bool}`.
    List {
        /// Search text.
        #[arg(long, default_value = "")]
        search: String,
        /// Skip this many matches (the next page starts at the previous offset + limit).
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// At most this many patients (1 to 500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show a patient's chart.
    Show {
        /// Patient id.
        id: PatientId,
    },
    /// Edit demographic fields (each a signed change, merged per field when devices sync).
    Edit {
        /// Patient id.
        id: PatientId,
        /// Given name(s).
        #[arg(long)]
        given: Option<String>,
        /// Family name.
        #[arg(long)]
        family: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        birth_date: Option<String>,
        /// female, male, other or unknown (empty clears it).
        #[arg(long)]
        sex: Option<String>,
        /// The clinic's patient number (empty clears it).
        #[arg(long)]
        clinic_id: Option<String>,
        /// Phone or address (empty clears it).
        #[arg(long)]
        contact: Option<String>,
        /// National identity number (empty clears it).
        #[arg(long)]
        national_id: Option<String>,
        /// A child's parent or guardian (empty clears it).
        #[arg(long)]
        guardian: Option<String>,
    },
}

/// `outpost encounter ...`
#[derive(Debug, Subcommand)]
pub enum EncounterCmd {
    /// Open an encounter; prints its id.
    Add {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// video, in_person or async_consult.
        #[arg(long, default_value = "in_person")]
        kind: String,
        /// Why the patient came (the chief complaint).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Finish an encounter.
    Finish {
        /// Encounter id.
        id: EncounterId,
    },
}

/// `outpost note ...`
#[derive(Debug, Subcommand)]
pub enum NoteCmd {
    /// Write a draft note; prints its id.
    Write {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// Encounter id.
        #[arg(long)]
        encounter: Option<EncounterId>,
        /// Subjective.
        #[arg(long, default_value = "")]
        subjective: String,
        /// Objective.
        #[arg(long, default_value = "")]
        objective: String,
        /// Assessment.
        #[arg(long, default_value = "")]
        assessment: String,
        /// Plan.
        #[arg(long, default_value = "")]
        plan: String,
        /// A visit template (`outpost note templates`): fills the sections not given.
        #[arg(long)]
        template: Option<String>,
        /// The template's language (en, fr).
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// List the visit templates: id, name, and the vitals each asks for.
    Templates,
    /// Save a new revision of a draft. Sections not given keep the text of the revision named
    /// by --base; a --base that is no longer current keeps both texts and exits 1 (conflict).
    Update {
        /// Note id.
        id: NoteId,
        /// The revision this text replaces (from `note show`); repeat it to merge a conflict.
        #[arg(long, required = true)]
        base: Vec<OpHash>,
        /// Subjective.
        #[arg(long)]
        subjective: Option<String>,
        /// Objective.
        #[arg(long)]
        objective: Option<String>,
        /// Assessment.
        #[arg(long)]
        assessment: Option<String>,
        /// Plan.
        #[arg(long)]
        plan: Option<String>,
    },
    /// Sign a draft (physicians); it is immutable afterwards.
    Sign {
        /// Note id.
        id: NoteId,
        /// Sign only if the text is still the one with this content hash (from `note show`);
        /// without it, the text as it is now is signed.
        #[arg(long)]
        content_hash: Option<String>,
    },
    /// Add a signed addendum to a signed note.
    Addendum {
        /// Note id.
        id: NoteId,
        /// The addendum text.
        #[arg(long)]
        text: String,
    },
    /// Show a note with its addenda, its revision and content hash, and its signature state.
    Show {
        /// Note id.
        id: NoteId,
    },
}

/// `outpost vitals ...`
#[derive(Debug, Subcommand)]
pub enum VitalsCmd {
    /// Record a vital: bp (with --value2), pulse, temp, spo2, rr, weight, height, glucose, muac.
    Add {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// Encounter id.
        #[arg(long)]
        encounter: Option<EncounterId>,
        /// Which vital (or its LOINC code).
        #[arg(long)]
        kind: String,
        /// The value (systolic for bp).
        #[arg(long)]
        value: f64,
        /// Diastolic, for bp.
        #[arg(long)]
        value2: Option<f64>,
        /// When it was measured, YYYY-MM-DDTHH:MM in UTC (a reading entered from paper);
        /// now when left out.
        #[arg(long)]
        observed_at: Option<String>,
    },
    /// Strike out a reading entered in error (it stays in the chart, struck through, and
    /// counts nowhere: no flag, no growth point, no BMI).
    Error {
        /// The vital's id (from `chart show --json`).
        id: VitalId,
        /// Why (typed 7.0 for 70 kg, measured on another patient).
        #[arg(long)]
        reason: String,
    },
}

/// `outpost allergy ...`
#[derive(Debug, Subcommand)]
pub enum AllergyCmd {
    /// Record an allergy; prints its id and whether prescriptions are checked against it.
    Add {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// What the patient reacts to: a drug, a drug group ("penicillin", "sulfa") or anything
        /// else (only drugs and groups are checked against prescriptions).
        #[arg(long)]
        substance: String,
        /// The reaction (rash, wheeze, anaphylaxis).
        #[arg(long)]
        reaction: String,
        /// mild, moderate or severe.
        #[arg(long)]
        severity: String,
    },
    /// Record that the patient was asked and has no known drug allergies.
    None {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
    },
    /// Remove an allergy that no longer holds or was entered in error.
    Remove {
        /// Allergy id.
        id: AllergyId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `outpost med ...`
#[derive(Debug, Subcommand)]
pub enum MedCmd {
    /// Prescribe; refused (exit 1, naming the allergy) on an allergy conflict unless
    /// --override-reason says why. Prints the prescription's id.
    Prescribe {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// Encounter id.
        #[arg(long)]
        encounter: Option<EncounterId>,
        /// The drug: a catalogue name or ATC code (checked), or any other name (unchecked).
        #[arg(long)]
        drug: String,
        /// Dose, like "500 mg".
        #[arg(long)]
        dose: String,
        /// Route, like oral.
        #[arg(long)]
        route: String,
        /// How often, like "three times a day".
        #[arg(long)]
        frequency: String,
        /// For how long, like "5 days".
        #[arg(long)]
        duration: String,
        /// Further instructions.
        #[arg(long, default_value = "")]
        instructions: String,
        /// Why to prescribe despite an allergy conflict.
        #[arg(long)]
        override_reason: Option<String>,
    },
    /// A patient's medications, current first.
    List {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
    },
    /// Stop a medication.
    Stop {
        /// Prescription id.
        id: MedicationId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Search the drug catalogue (WHO Essential Medicines, with ATC codes).
    Drugs {
        /// Part of a name, or the start of an ATC code.
        query: String,
    },
}

/// `outpost problem ...`
#[derive(Debug, Subcommand)]
pub enum ProblemCmd {
    /// Add a diagnosis to the problem list; prints its id.
    Add {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// Encounter id (the assessment it came from).
        #[arg(long)]
        encounter: Option<EncounterId>,
        /// An ICD-10-CM code (see `outpost problem codes`), or the diagnosis in words.
        #[arg(long)]
        code: String,
        /// When it began, YYYY-MM-DD.
        #[arg(long)]
        onset: Option<String>,
    },
    /// Resolve a problem (or mark it entered in error).
    Resolve {
        /// Problem id.
        id: ProblemId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Search the diagnosis codes shipped (code, title, or common words like "htn").
    Codes {
        /// What to look for.
        query: String,
    },
}

/// `outpost attach ...`
#[derive(Debug, Subcommand)]
pub enum AttachCmd {
    /// Attach a file to a patient's chart; prints the attachment id.
    Add {
        /// Patient id.
        #[arg(long)]
        patient: PatientId,
        /// MIME type.
        #[arg(long, default_value = "application/octet-stream")]
        media_type: String,
        /// The file.
        file: PathBuf,
    },
    /// Write an attachment to a file (appears only once its hash checks out).
    Get {
        /// Attachment id.
        id: AttachmentId,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `outpost update ...`
#[derive(Debug, Subcommand)]
pub enum UpdateCmd {
    /// Ask the update server for its latest release (signed release list; OUTPOST_UPDATE_URL
    /// for a mirror), and say what is new.
    Check {
        /// Also download the release's AppImage and .deb into DIR with their signatures,
        /// verified, ready to carry to offline laptops on a USB stick.
        #[arg(long, value_name = "DIR")]
        download: Option<std::path::PathBuf>,
    },
    /// Check an update file and its signature (FILE.sig beside it); changes nothing.
    Verify {
        /// The update (an AppImage or a .deb).
        file: std::path::PathBuf,
    },
    /// Verify an AppImage update, then put it in place of the installed one in one step.
    Apply {
        /// The update (an AppImage), its signature beside it as FILE.sig.
        file: std::path::PathBuf,
        /// The installed AppImage to replace (default: the one running, $APPIMAGE).
        #[arg(long)]
        installed: Option<std::path::PathBuf>,
        /// Install an older (or the same) version: an administrator's decision, asked for
        /// with their passphrase.
        #[arg(long)]
        allow_downgrade: bool,
    },
}

/// `outpost alerts ...`
#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// List the alerts of the last 90 days, newest first (`--json` for every field).
    List,
    /// Acknowledge an alert, saying what was found (signed, audited and synced).
    Ack {
        /// The alert's id (from `alerts list`).
        id: String,
        /// What was found or done.
        #[arg(long)]
        note: String,
    },
    /// Show the rules' settings, or change those given.
    Rules {
        /// Bulk access: this many different charts …
        #[arg(long)]
        bulk_charts: Option<u32>,
        /// … within this many minutes.
        #[arg(long)]
        bulk_minutes: Option<u32>,
        /// The clinic's hours, HH:MM-HH:MM in clinic time (`none`: open around the clock).
        #[arg(long)]
        hours: Option<String>,
        /// The clinic's offset from UTC, +HH:MM or -HH:MM.
        #[arg(long, allow_hyphen_values = true)]
        utc_offset: Option<String>,
        /// Failed unlocks: this many within 15 minutes.
        #[arg(long)]
        failed_unlocks: Option<u32>,
    },
}

/// `outpost audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List audit entries, newest first.
    List {
        /// Only entries about this record (e.g. a patient id).
        #[arg(long)]
        record: Option<String>,
        /// Only entries by this user id.
        #[arg(long)]
        actor: Option<outpost_core::store::UserId>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Write the audit trail (or the entries selected) as CSV for a privacy officer: a new
    /// file, readable by its owner only. The export is itself recorded.
    Export {
        /// The CSV file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Only entries about this record (e.g. a patient id).
        #[arg(long)]
        record: Option<String>,
        /// Only entries by this user id.
        #[arg(long)]
        actor: Option<outpost_core::store::UserId>,
        /// Only entries from this day on, YYYY-MM-DD (UTC).
        #[arg(long)]
        from: Option<String>,
        /// Only entries before this day, YYYY-MM-DD (UTC).
        #[arg(long)]
        to: Option<String>,
    },
    /// Verify the signed log (links, signatures, roles, chart tables); exits 0 only when it
    /// holds, else names the first bad operation.
    Verify,
}

/// `outpost user ...`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add a nurse, physician or admin who unlocks with their own passphrase (an admin or
    /// physician does this).
    Add {
        /// Their name as colleagues know it.
        #[arg(long)]
        name: String,
        /// physician, nurse or admin.
        #[arg(long)]
        role: String,
        /// File whose first line is the new user's passphrase (never on the command line).
        #[arg(long)]
        new_passphrase_file: PathBuf,
    },
    /// Change the signed-in user's passphrase (the current one comes as for any command).
    Passphrase {
        /// File whose first line is the new passphrase.
        #[arg(long)]
        new_passphrase_file: PathBuf,
    },
    /// Remove a user for good (an admin or physician): their entry is destroyed and the
    /// database re-keyed, so an old copy of the profile with their passphrase opens nothing.
    /// Prints the new recovery key once (the old one stops working).
    Remove {
        /// The user's id (`outpost user list`).
        id: String,
    },
    /// The people of this profile, removed ones included.
    List,
}

/// `outpost recovery ...`
#[derive(Debug, Subcommand)]
pub enum RecoveryCmd {
    /// Issue a new recovery key and print it once; the old key no longer opens this profile
    /// (an admin or physician). Print the new recovery sheet after it.
    Rotate,
    /// Print the recovery sheet (text and QR code) to keep with the recovery key: with it, the
    /// key opens the database even if `profile.json` is lost. It opens nothing by itself.
    Sheet {
        /// Write it to this file (must not exist) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Emergency access with the recovery key: writes a backup of every chart, protected by
    /// the passphrase given as usual (OUTPOST_PASSPHRASE or --passphrase-file), to restore
    /// from. Recorded in the audit trail with the reason.
    Backup {
        /// File holding the recovery key (first line).
        #[arg(long)]
        key_file: PathBuf,
        /// Why emergency access is needed (recorded).
        #[arg(long)]
        reason: String,
        /// The recovery sheet, when `profile.json` and its copy are lost or damaged.
        #[arg(long)]
        sheet: Option<PathBuf>,
        /// Backup file to write (must not exist).
        file: PathBuf,
    },
}

/// `outpost backup ...`
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write an encrypted backup (protected by the same passphrase).
    Create {
        /// Backup file to write (must not exist).
        file: PathBuf,
    },
    /// Check a backup without restoring it.
    Verify {
        /// Backup file.
        file: PathBuf,
    },
    /// Restore a backup into a new profile directory (--profile NEWDIR).
    Restore {
        /// Backup file.
        file: PathBuf,
    },
}
