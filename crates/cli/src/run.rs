//! Carries out one parsed command against the core and prints the result.

// Printing results is this module's job.
#![allow(clippy::print_stdout)]

use std::{fmt::Write as _, path::PathBuf};

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use outpost_core::{
    Core, Role,
    store::{
        audit::AuditFilter,
        records::{EncounterKind, NewPatient, PatientPage, Signature, Soap, VitalKind},
    },
};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{
    Args, AttachCmd, AuditCmd, BackupCmd, Command, EncounterCmd, NoteCmd, PatientCmd, RecoveryCmd,
    RelayCmd, UserCmd, VitalsCmd,
};

/// Prints `value` as JSON when asked, else the human line.
pub(crate) fn emit<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM` (UTC) as milliseconds since 1970.
pub(crate) fn parse_utc_minute(text: &str) -> Result<i64> {
    let bad = || anyhow!("--observed-at: a time like 2026-11-28T14:30 (UTC)");
    let (date, time) = text.trim().split_once('T').ok_or_else(bad)?;
    let date = outpost_core::clinical::age::Date::parse(date).ok_or_else(bad)?;
    let (h, m) = time.trim_end_matches('Z').split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(date.unix_ms() + h * 3_600_000 + m * 60_000)
}

/// `20s`, `2m`, `500ms`, `1h`, `1d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| anyhow!("a duration like 20s, 2m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow!("a duration like 20s, 2m or 1h"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => bail!("a duration like 20s, 2m or 1h"),
    })
}

/// A duration option (`--expires 7d`, `--duration 20s`) in milliseconds.
pub(crate) fn duration_ms(text: &str) -> Result<i64> {
    Ok(i64::try_from(parse_duration(text)?.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn passphrase(args: &Args) -> Result<Zeroizing<String>> {
    if let Some(file) = &args.passphrase_file {
        return passphrase_from(file);
    }
    match std::env::var("OUTPOST_PASSPHRASE") {
        Ok(p) if !p.is_empty() => Ok(Zeroizing::new(p)),
        _ => bail!("no passphrase: set OUTPOST_PASSPHRASE or pass --passphrase-file"),
    }
}

pub(crate) fn profile_dir(args: &Args) -> Result<PathBuf> {
    args.profile
        .clone()
        .ok_or_else(|| anyhow!("no profile: pass --profile DIR or set OUTPOST_PROFILE"))
}

/// Opens the core over a profile that exists: a mistyped `--profile` is an error, never a new
/// empty folder.
pub(crate) fn existing(args: &Args) -> Result<Core> {
    let dir = profile_dir(args)?;
    if !outpost_core::store::Profile::exists(&dir) {
        bail!(
            "no Outpost profile at {}: check --profile (or OUTPOST_PROFILE); `outpost init` creates one",
            dir.display()
        );
    }
    Ok(Core::open(dir)?)
}

/// Opens the core and unlocks it as the chosen (or first) user.
pub(crate) async fn unlocked(args: &Args) -> Result<Core> {
    let core = existing(args)?;
    let user = match &args.user {
        Some(u) => u.clone(),
        None => core
            .users()
            .await?
            .first()
            .map(|u| u.id.to_hex())
            .ok_or_else(|| anyhow!("the profile has no users"))?,
    };
    let session = core.unlock(user, passphrase(args)?).await?;
    for warning in &session.warnings {
        eprintln!("warning: {}", describe_warning(warning));
    }
    Ok(core)
}

fn describe_warning(w: &outpost_core::store::UnlockWarning) -> String {
    use outpost_core::store::UnlockWarning;
    match w {
        UnlockWarning::RolledBack { missing } => format!(
            "this profile was restored to an earlier state: {missing} change(s) this device made are missing (recorded in the audit trail)"
        ),
        UnlockWarning::ForeignHead => "this profile's database is not the one this device last used (recorded in the audit trail)".to_owned(),
        UnlockWarning::HeadUnchecked { reason } => format!("could not check for an earlier state: {reason}"),
        UnlockWarning::ProfileFileAltered { reason } => format!(
            "{reason}; recorded in the audit trail: tell your administrator, and change any passphrase that may be known"
        ),
        _ => "unlock warning".to_owned(),
    }
}

/// Unlocks, runs `f`, and locks again whether `f` succeeded or not, so every command's session
/// ends with a `lock` entry and the keys zeroized. A lock that fails after `f` committed its
/// work is a warning, not a failure: a script that retried would write the same thing twice.
pub(crate) async fn with_session<T>(
    args: &Args,
    f: impl AsyncFnOnce(&Core) -> Result<T>,
) -> Result<T> {
    let core = unlocked(args).await?;
    let out = f(&core).await;
    if let Err(e) = core.lock().await {
        if out.is_ok() {
            eprintln!("warning: the work was saved, but locking afterwards failed: {e}");
        } else {
            eprintln!("warning: locking failed too: {e}");
        }
    }
    out
}

#[derive(Serialize)]
pub(crate) struct Id {
    pub(crate) id: String,
}

/// `outpost init`: creates the profile and shows the recovery key once.
async fn init(args: &Args, name: &str, role: &str) -> Result<()> {
    let json = args.json;
    let role = Role::from_name(role)
        .filter(|r| *r != Role::Emergency)
        .ok_or_else(|| anyhow!("--role: one of physician, nurse, admin, patient"))?;
    let core = Core::open(profile_dir(args)?)?;
    let recovery = core
        .create_profile(name.to_owned(), role, passphrase(args)?)
        .await?;
    let user = core.current_user().await?;
    // The recovery key is shown before anything else can fail: it exists only now.
    let shown = emit(
        json,
        &serde_json::json!({ "user_id": user.id, "recovery_key": recovery.as_str() }),
        || {
            format!(
                "Profile created for {} ({}).\nRecovery key (shown once; print it and keep it locked away):\n  {}\nPrint the recovery sheet to keep with it: outpost recovery sheet",
                user.name,
                user.role.as_str(),
                recovery.as_str()
            )
        },
    );
    if let Err(e) = core.lock().await {
        eprintln!("warning: the profile was created, but locking afterwards failed: {e}");
    }
    shown
}

pub async fn run(args: Args) -> Result<()> {
    let args = &args;
    let json = args.json;
    match &args.command {
        Command::Init { name, role } => init(args, name, role).await,
        Command::Patient(cmd) => patient(args, cmd).await,
        Command::Relay(RelayCmd::Serve {
            listen,
            data,
            tls_cert,
            tls_key,
            turn_url,
            turn_secret_file,
            turn_ttl,
        }) => {
            let turn = match turn_secret_file {
                Some(path) => Some(turn_config(turn_url, path, turn_ttl)?),
                None => None,
            };
            relay_serve(*listen, data, tls_cert.clone().zip(tls_key.clone()), turn).await
        }
        Command::Workspace(_) | Command::Sync { .. } | Command::Status | Command::Conflicts(_) => {
            crate::sync::run(args).await
        }
        Command::Call(_) | Command::Visit(_) => crate::call::run(args).await,
        Command::Encounter(cmd) => encounter(args, cmd).await,
        Command::Note(cmd) => note(args, cmd).await,
        Command::Allergy(cmd) => crate::clinical::allergy(args, cmd).await,
        Command::Med(cmd) => crate::clinical::med(args, cmd).await,
        Command::Problem(cmd) => crate::clinical::problem(args, cmd).await,
        Command::Vitals(VitalsCmd::Add {
            patient,
            encounter,
            kind,
            value,
            value2,
            observed_at,
        }) => {
            let observed_at = observed_at.as_deref().map(parse_utc_minute).transpose()?;
            with_session(args, async |core| {
                let v = core
                    .add_vital_at(
                        *patient,
                        *encounter,
                        VitalKind::parse(kind)?,
                        *value,
                        *value2,
                        observed_at,
                    )
                    .await?;
                emit(json, &Id { id: v.id.to_hex() }, || v.id.to_hex())
            })
            .await
        }
        Command::Vitals(VitalsCmd::Error { id, reason }) => {
            with_session(args, async |core| {
                let v = core.mark_vital_in_error(*id, reason.clone()).await?;
                emit(json, &v, || format!("{}: entered in error", v.id))
            })
            .await
        }
        Command::Attach(cmd) => {
            with_session(args, async |core| match cmd {
                AttachCmd::Add {
                    patient,
                    media_type,
                    file,
                } => {
                    let a = core
                        .add_attachment(*patient, file.clone(), media_type.clone())
                        .await?;
                    emit(json, &Id { id: a.id.to_hex() }, || a.id.to_hex())
                }
                AttachCmd::Get { id, out } => {
                    let a = core.save_attachment(*id, out.clone()).await?;
                    emit(json, &a, || {
                        format!("wrote {} ({} bytes)", out.display(), a.size)
                    })
                }
            })
            .await
        }
        Command::Audit(cmd) => audit(args, cmd).await,
        Command::Alerts(cmd) => crate::alerts::alerts(args, cmd).await,
        Command::Update(cmd) => crate::update::update(args, cmd).await,
        Command::Backup(cmd) => backup(args, cmd).await,
        Command::Recovery(RecoveryCmd::Rotate) => rotate_recovery(args).await,
        Command::Recovery(RecoveryCmd::Sheet { out }) => recovery_sheet(args, out.as_deref()),
        Command::Recovery(RecoveryCmd::Backup {
            key_file,
            reason,
            sheet,
            file,
        }) => emergency_backup(args, key_file, reason, sheet.as_deref(), file).await,
        Command::User(cmd) => user(args, cmd).await,
    }
}

/// The first line of a passphrase file (the new user's, or the new one).
fn passphrase_from(file: &std::path::Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(file)
            .with_context(|| format!("cannot read passphrase file {}", file.display()))?,
    );
    Ok(Zeroizing::new(text.lines().next().unwrap_or("").to_owned()))
}

/// `outpost user add` and `outpost user passphrase`.
async fn user(args: &Args, cmd: &UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add {
            name,
            role,
            new_passphrase_file,
        } => {
            let role = Role::from_name(role)
                .filter(|r| matches!(r, Role::Physician | Role::Nurse | Role::Admin))
                .ok_or_else(|| anyhow!("--role: one of physician, nurse, admin"))?;
            let new = passphrase_from(new_passphrase_file)?;
            with_session(args, async |core| {
                let u = core.add_user(name.clone(), role, new).await?;
                emit(args.json, &Id { id: u.id.to_hex() }, || {
                    format!("added {} ({}): {}", u.name, u.role.as_str(), u.id)
                })
            })
            .await
        }
        UserCmd::Passphrase {
            new_passphrase_file,
        } => {
            let new = passphrase_from(new_passphrase_file)?;
            let current = passphrase(args)?;
            with_session(args, async |core| {
                core.change_passphrase(current, new).await?;
                emit(args.json, &serde_json::json!({ "changed": true }), || {
                    "passphrase changed; the old one no longer unlocks this profile".to_owned()
                })
            })
            .await
        }
        UserCmd::Remove { id } => {
            // The passphrase that unlocks this command is the one the removal asks for again.
            let confirm = passphrase(args)?;
            with_session(args, async |core| {
                let key = core.remove_user(id.clone(), confirm).await?;
                // Printed at once: the new recovery key exists only now.
                emit(
                    args.json,
                    &serde_json::json!({ "removed": id, "recovery_key": key.display().as_str() }),
                    || {
                        format!(
                            "removed; the database has a new key and old copies of this profile open nothing.\nNew recovery key (shown once; the old one no longer works):\n  {}\nPrint the new recovery sheet to keep with it: outpost recovery sheet",
                            key.display().as_str()
                        )
                    },
                )
            })
            .await
        }
        UserCmd::List => {
            with_session(args, async |core| {
                let members = core.members().await?;
                emit(args.json, &members, || {
                    members
                        .iter()
                        .map(|m| {
                            format!(
                                "{}  {}  {}{}",
                                m.id,
                                m.role.as_str(),
                                m.name,
                                if m.removed { "  (removed)" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            })
            .await
        }
    }
}

/// `outpost recovery sheet`: the sheet's text, and the same as a QR code for a phone or a
/// scanner (alphanumeric, no spaces).
fn recovery_sheet(args: &Args, out: Option<&std::path::Path>) -> Result<()> {
    let text = existing(args)?.recovery_sheet()?;
    let body: String = text
        .lines()
        .skip(1)
        .flat_map(|l| l.split_whitespace())
        .collect();
    let qr = qrcode::QrCode::with_error_correction_level(body.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| anyhow!("cannot draw the QR code: {e}"))?
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build();
    let page = format!(
        "{text}\nKeep this sheet with the recovery key. With both, `outpost recovery backup --sheet` opens\nthe records even if profile.json is lost; the sheet alone opens nothing.\n\n{qr}\n"
    );
    match out {
        Some(path) => {
            use std::io::Write;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .and_then(|mut f| f.write_all(page.as_bytes()).and_then(|()| f.sync_all()))
                .with_context(|| format!("cannot write {}", path.display()))?;
            emit(args.json, &serde_json::json!({ "written": path }), || {
                format!("recovery sheet written to {}", path.display())
            })
        }
        None => emit(args.json, &serde_json::json!({ "sheet": text }), || page),
    }
}

/// `outpost recovery backup`: emergency access (from the sheet when `profile.json` is gone),
/// a backup, and the lock.
async fn emergency_backup(
    args: &Args,
    key_file: &std::path::Path,
    reason: &str,
    sheet: Option<&std::path::Path>,
    file: &std::path::Path,
) -> Result<()> {
    let key = passphrase_from(key_file)?;
    let backup_passphrase = passphrase(args)?;
    let core = Core::open(profile_dir(args)?)?;
    match sheet {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read recovery sheet {}", path.display()))?;
            core.unlock_with_recovery_sheet(text, key, reason.to_owned())
                .await?
        }
        None => core.unlock_with_recovery(key, reason.to_owned()).await?,
    };
    let made = core
        .create_backup(file.to_path_buf(), backup_passphrase)
        .await;
    if let Err(e) = core.lock().await {
        eprintln!("warning: locking after emergency access failed: {e}");
    }
    let written = made?;
    warn_if_on_the_same_disk(&written);
    let m = &written.manifest;
    emit(args.json, m, || {
        format!(
            "emergency access recorded; backup of {} rows written to {}",
            m.tables.iter().map(|t| t.rows).sum::<u64>(),
            file.display()
        )
    })
}

/// `outpost recovery rotate`: the new key is printed at once, since it exists only now.
async fn rotate_recovery(args: &Args) -> Result<()> {
    // The passphrase that unlocks this command is the one the rotation asks for again.
    let confirm = passphrase(args)?;
    with_session(args, async |core| {
        let key = core.rotate_recovery(confirm).await?;
        emit(
            args.json,
            &serde_json::json!({ "recovery_key": key.display().as_str() }),
            || {
                format!(
                    "New recovery key (shown once; the old one no longer works):\n  {}\nPrint the new recovery sheet to keep with it: outpost recovery sheet",
                    key.display().as_str()
                )
            },
        )
    })
    .await
}

/// A page of patients, one per line; never a silently cut list: the last line says how to see
/// the rest.
fn patient_lines(page: &PatientPage, offset: u32) -> String {
    let mut lines: Vec<String> = page
        .patients
        .iter()
        .map(|p| {
            format!(
                "{}  {}, {}  {}  {}",
                p.id,
                p.family_name,
                p.given_name,
                p.birth_date,
                p.clinic_id.as_deref().unwrap_or("")
            )
        })
        .collect();
    if page.more {
        lines.push(format!(
            "(more: --offset {})",
            u64::from(offset) + page.patients.len() as u64
        ));
    }
    lines.join("\n")
}

async fn patient(args: &Args, cmd: &PatientCmd) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| match cmd {
        PatientCmd::Add {
            given,
            family,
            birth_date,
            estimated_age,
            sex,
            clinic_id,
            contact,
            national_id,
            guardian,
        } => {
            let new = NewPatient {
                given_name: given.clone(),
                family_name: family.clone(),
                birth_date: birth_date.clone().unwrap_or_default(),
                sex: sex.clone(),
                clinic_id: clinic_id.clone(),
                contact: contact.clone(),
                national_id: national_id.clone(),
                guardian: guardian.clone(),
                estimated_age_years: *estimated_age,
            };
            // Registered all the same (a script cannot answer a question); said on stderr, by
            // chart id only (stderr ends up in logs; names stay out of them).
            for s in core.similar_patients(new.clone()).await? {
                eprintln!(
                    "warning: possibly the same person as chart {} (see: outpost patient show {})",
                    s.id, s.id
                );
            }
            let p = core.add_patient(new).await?;
            emit(json, &Id { id: p.id.to_hex() }, || p.id.to_hex())
        }
        PatientCmd::List {
            search,
            offset,
            limit,
        } => {
            let page = core.search_patients(search.clone(), *offset, *limit).await?;
            emit(json, &page, || patient_lines(&page, *offset))
        }
        PatientCmd::Edit {
            id,
            given,
            family,
            birth_date,
            sex,
            clinic_id,
            contact,
            national_id,
            guardian,
        } => {
            use outpost_core::store::proto::PatientField as F;
            let edits = [
                (F::GivenName, given),
                (F::FamilyName, family),
                (F::BirthDate, birth_date),
                (F::Sex, sex),
                (F::ClinicId, clinic_id),
                (F::Contact, contact),
                (F::NationalId, national_id),
                (F::Guardian, guardian),
            ];
            let mut changed = 0;
            for (field, value) in edits {
                if let Some(value) = value {
                    core.edit_patient(*id, field, Some(value.clone())).await?;
                    changed += 1;
                }
            }
            // A birth date given is a known one: it is no longer an estimate.
            if birth_date.is_some() {
                core.edit_patient(*id, F::BirthDateEstimated, None).await?;
            }
            if changed == 0 {
                bail!(
                    "nothing to change: give --given, --family, --birth-date, --sex, --clinic-id, --contact, --national-id or --guardian"
                );
            }
            emit(json, &Id { id: id.to_hex() }, || id.to_hex())
        }
        PatientCmd::Show { id } => {
            let chart = core.chart(*id).await?;
            emit(json, &chart, || chart_line(&chart))
        }
    })
    .await
}

/// `patient show`'s one line: who, how old, allergies, current medications, what the chart holds.
fn chart_line(chart: &outpost_core::store::records::Chart) -> String {
    use outpost_core::store::records::AllergyStatus;
    let allergies = match chart.allergy_status {
        AllergyStatus::NotAsked => "allergies: NOT ASKED YET".to_owned(),
        AllergyStatus::NoneKnown => "no known drug allergies".to_owned(),
        AllergyStatus::Allergies => format!(
            "ALLERGIES: {}",
            chart
                .allergies
                .iter()
                .filter(|a| a.removed_at.is_none())
                .map(|a| format!("{} ({})", a.substance, a.severity.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let current = chart.medications.iter().filter(|m| m.stopped_at.is_none());
    let about = if chart.patient.birth_date_estimated {
        "about "
    } else {
        ""
    };
    format!(
        "{}, {} ({about}{}, born {}{}) — {allergies}; {} current medications — {} encounters, {} notes, {} vitals, {} attachments",
        chart.patient.family_name,
        chart.patient.given_name,
        chart
            .age
            .as_ref()
            .map_or("age unknown", |a| a.text.as_str()),
        chart.patient.birth_date,
        if chart.patient.birth_date_estimated {
            ", estimated"
        } else {
            ""
        },
        current.count(),
        chart.encounters.len(),
        chart.notes.len(),
        // Readings struck out as entered in error are kept, but are not vitals of the chart.
        chart
            .vitals
            .iter()
            .filter(|v| v.entered_in_error.is_none())
            .count(),
        chart.attachments.len()
    )
}

/// `outpost encounter ...`
async fn encounter(args: &Args, cmd: &EncounterCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        EncounterCmd::Add {
            patient,
            kind,
            reason,
        } => {
            let kind = EncounterKind::from_name(kind)
                .ok_or_else(|| anyhow!("--kind: one of video, in_person, async_consult"))?;
            with_session(args, async |core| {
                let e = core.add_encounter(*patient, kind, reason.clone()).await?;
                emit(json, &Id { id: e.id.to_hex() }, || e.id.to_hex())
            })
            .await
        }
        EncounterCmd::Finish { id } => {
            with_session(args, async |core| {
                let e = core.finish_encounter(*id).await?;
                emit(json, &e, || format!("finished {}", e.id))
            })
            .await
        }
    }
}

/// `note templates`: id, English name and vitals of each visit template.
fn list_templates(json: bool) -> Result<()> {
    let all = outpost_core::clinical::templates::all();
    emit(json, &all, || {
        all.iter()
            .map(|t| {
                format!(
                    "{}\t{}\tvitals: {}",
                    t.id,
                    t.title.get("en").map_or("", String::as_str),
                    t.vitals.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The note's sections: those given on the command line win; a template fills the others.
fn with_template(given: Soap, template: Option<&str>, language: &str) -> Result<Soap> {
    let Some(id) = template else {
        return Ok(given);
    };
    let t = outpost_core::clinical::templates::find(id)
        .ok_or_else(|| anyhow!("no visit template {id:?}: see outpost note templates"))?;
    let fill = |text: String, name: &str| {
        if text.is_empty() {
            t.section(name, language).unwrap_or_default().to_owned()
        } else {
            text
        }
    };
    Ok(Soap {
        subjective: fill(given.subjective, "subjective"),
        objective: fill(given.objective, "objective"),
        assessment: fill(given.assessment, "assessment"),
        plan: fill(given.plan, "plan"),
    })
}

async fn note(args: &Args, cmd: &NoteCmd) -> Result<()> {
    let json = args.json;
    // The templates ship with the program: listing them needs no profile.
    if let NoteCmd::Templates = cmd {
        return list_templates(json);
    }
    with_session(args, async |core| match cmd {
        NoteCmd::Write {
            patient,
            encounter,
            subjective,
            objective,
            assessment,
            plan,
            template,
            language,
        } => {
            let given = Soap {
                subjective: subjective.clone(),
                objective: objective.clone(),
                assessment: assessment.clone(),
                plan: plan.clone(),
            };
            let soap = with_template(given, template.as_deref(), language)?;
            let n = core.write_note(*patient, *encounter, soap).await?;
            emit(json, &Id { id: n.id.to_hex() }, || n.id.to_hex())
        }
        // Answered above, without a profile.
        NoteCmd::Templates => unreachable!("listed before unlocking"),
        NoteCmd::Update {
            id,
            base,
            subjective,
            objective,
            assessment,
            plan,
        } => {
            // Sections not given keep the text of the (first) revision named as the base: what
            // the person edited from, even if someone saved since (that save is kept too).
            let keep = core.note_revision(*id, base[0]).await?.soap;
            let soap = Soap {
                subjective: subjective.clone().unwrap_or(keep.subjective),
                objective: objective.clone().unwrap_or(keep.objective),
                assessment: assessment.clone().unwrap_or(keep.assessment),
                plan: plan.clone().unwrap_or(keep.plan),
            };
            let n = core.update_draft(*id, base.clone(), soap).await?;
            emit(json, &n, || format!("saved revision {}", n.revision))
        }
        NoteCmd::Sign { id, content_hash } => {
            let expected = match content_hash {
                Some(h) => h.clone(),
                None => core.note(*id).await?.content_hash,
            };
            let n = core.sign_note(*id, expected).await?;
            emit(json, &n, || format!("signed {}", n.id))
        }
        NoteCmd::Addendum { id, text } => {
            let a = core.add_addendum(*id, text.clone()).await?;
            emit(json, &Id { id: a.id.to_hex() }, || a.id.to_hex())
        }
        NoteCmd::Show { id } => {
            let n = core.note(*id).await?;
            emit(json, &n, || {
                let mut s = format!(
                    "S: {}\nO: {}\nA: {}\nP: {}\n{}\nrevision: {}\ncontent hash: {}",
                    n.soap.subjective,
                    n.soap.objective,
                    n.soap.assessment,
                    n.soap.plan,
                    describe_signature(&n.signature),
                    n.revision,
                    n.content_hash,
                );
                for c in &n.conflicts {
                    let _ = write!(
                        s,
                        "\nconflicting revision {} (saved {}): S: {} | O: {} | A: {} | P: {}",
                        c.revision,
                        c.at,
                        c.soap.subjective,
                        c.soap.objective,
                        c.soap.assessment,
                        c.soap.plan
                    );
                }
                for a in &n.addenda {
                    let _ = write!(
                        s,
                        "\nAddendum: {} ({})",
                        a.text,
                        describe_signature(&a.signature)
                    );
                }
                s
            })
        }
    })
    .await
}

fn describe_signature(sig: &Signature) -> String {
    match sig {
        Signature::Unsigned => "draft".to_owned(),
        Signature::Valid { by, at } => format!("signed by {by} at {at}"),
        Signature::Invalid { reason } => format!("SIGNATURE INVALID: {reason}"),
        Signature::Unverified { by, at } => {
            format!("signed by {by} at {at} (recorded before signatures; unverified)")
        }
    }
}

async fn audit(args: &Args, cmd: &AuditCmd) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| match cmd {
        AuditCmd::List {
            record,
            actor,
            limit,
        } => {
            let entries = core
                .audit_entries(AuditFilter {
                    actor: *actor,
                    record_id: record.clone(),
                    limit: Some(*limit),
                    ..AuditFilter::default()
                })
                .await?;
            emit(json, &entries, || {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{:>6}  {}  {:<18} {}",
                            e.seq,
                            e.at,
                            e.action,
                            e.record_id.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AuditCmd::Export {
            out,
            record,
            actor,
            from,
            to,
        } => {
            let day = |d: &Option<String>, flag: &str| -> Result<Option<i64>> {
                d.as_deref()
                    .map(|d| {
                        outpost_core::clinical::age::Date::parse(d)
                            .map(outpost_core::clinical::age::Date::unix_ms)
                            .ok_or_else(|| anyhow!("--{flag}: a date YYYY-MM-DD"))
                    })
                    .transpose()
            };
            let filter = AuditFilter {
                actor: *actor,
                record_id: record.clone(),
                from_ms: day(from, "from")?,
                to_ms: day(to, "to")?,
                ..AuditFilter::default()
            };
            let lines = core.export_audit(filter, out.clone()).await?;
            emit(json, &serde_json::json!({ "entries": lines, "file": out }), || {
                format!("{lines} entries written to {}", out.display())
            })
        }
        AuditCmd::Verify => {
            let r = core.verify_audit().await?;
            emit(
                json,
                &serde_json::json!({
                    "ok": true,
                    "operations": r.operations,
                    "devices": r.devices,
                    "legacy_entries": r.legacy_entries,
                }),
                || {
                    format!(
                        "log intact: {} signed operations from {} device(s) verify; {} entries before signatures",
                        r.operations, r.devices, r.legacy_entries
                    )
                },
            )
        }
    })
    .await
}

/// A backup on the chart's own disk is lost with the laptop: said on stderr, so `--json`
/// output stays one document.
fn warn_if_on_the_same_disk(written: &outpost_core::chart::BackupWritten) {
    if written.same_disk_as_data {
        eprintln!(
            "warning: this backup is on the same disk as the chart; a lost or broken laptop \
             takes both. Copy it to a USB stick kept elsewhere."
        );
    }
}

async fn backup(args: &Args, cmd: &BackupCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        BackupCmd::Create { file } => {
            with_session(args, async |core| {
                let written = core.create_backup(file.clone(), passphrase(args)?).await?;
                warn_if_on_the_same_disk(&written);
                emit(json, &written.manifest, || {
                    format!("backup written to {}", file.display())
                })
            })
            .await
        }
        BackupCmd::Verify { file } => {
            let scratch = std::env::temp_dir();
            let core = Core::open(args.profile.clone().unwrap_or(scratch))?;
            let m = core.verify_backup(file.clone(), passphrase(args)?).await?;
            emit(json, &m, || {
                let rows: u64 = m.tables.iter().map(|t| t.rows).sum();
                format!(
                    "backup verifies: {} tables, {rows} rows, made by {}",
                    m.tables.len(),
                    m.created_by.name
                )
            })
        }
        BackupCmd::Restore { file } => {
            let core = Core::open(profile_dir(args)?)?;
            let recovery = core.restore_backup(file.clone(), passphrase(args)?).await?;
            let user = core.current_user().await?;
            // Shown before locking: the new recovery key exists only now.
            let shown = emit(
                json,
                &serde_json::json!({ "user_id": user.id, "recovery_key": recovery.as_str() }),
                || {
                    format!(
                        "restored into {} for {}.\nNew recovery key (shown once):\n  {}",
                        core.data_dir().display(),
                        user.name,
                        recovery.as_str()
                    )
                },
            );
            if let Err(e) = core.lock().await {
                eprintln!("warning: the backup was restored, but locking afterwards failed: {e}");
            }
            shown
        }
    }
}

/// The TURN server a relay hands credentials for; the secret comes from a file so it never
/// shows in the process list.
fn turn_config(
    urls: &[String],
    secret_file: &std::path::Path,
    ttl: &str,
) -> Result<outpost_relay::turn::TurnConfig> {
    let secret =
        zeroize::Zeroizing::new(std::fs::read(secret_file).with_context(|| {
            format!("cannot read the TURN secret file {}", secret_file.display())
        })?);
    // A trailing newline from `echo` is not part of the secret coturn was given.
    let trimmed = zeroize::Zeroizing::new(secret.trim_ascii().to_vec());
    if trimmed.len() < 16 {
        bail!("the TURN secret must be at least 16 characters");
    }
    for url in urls {
        if !(url.starts_with("turn:") || url.starts_with("turns:")) {
            bail!("a TURN URL starts with turn: or turns: (got {url})");
        }
    }
    Ok(outpost_relay::turn::TurnConfig {
        urls: urls.to_vec(),
        secret: trimmed,
        ttl: parse_duration(ttl)?,
    })
}

/// `outpost relay serve`: runs until SIGTERM or SIGINT.
async fn relay_serve(
    listen: std::net::SocketAddr,
    data: &std::path::Path,
    tls: Option<(PathBuf, PathBuf)>,
    turn: Option<outpost_relay::turn::TurnConfig>,
) -> Result<()> {
    use std::io::Write as _;
    let relay = outpost_relay::Relay::bind(outpost_relay::Config {
        listen,
        data: data.to_owned(),
        tls,
        limits: outpost_relay::Limits::default(),
        turn,
    })
    .await?;
    println!("listening on {}", relay.url());
    std::io::stdout().flush()?;
    if relay.plain_on_network() {
        eprintln!(
            "WARNING: serving plain HTTP on a network address. Envelopes stay end-to-end \
             encrypted, but sessions and metadata are exposed: pass --tls-cert and --tls-key."
        );
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    relay
        .run(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_utc_minute;

    #[test]
    fn observation_times_are_read_as_utc_minutes_and_nonsense_is_refused() {
        assert_eq!(
            parse_utc_minute("2026-11-29T00:00").unwrap(),
            1_795_910_400_000
        );
        assert_eq!(
            parse_utc_minute("2026-11-29T14:30Z").unwrap(),
            1_795_910_400_000 + 14 * 3_600_000 + 30 * 60_000
        );
        for bad in [
            "2026-11-29",
            "2026-02-30T10:00",
            "2026-11-29T24:00",
            "yesterday",
        ] {
            assert!(parse_utc_minute(bad).is_err(), "{bad}");
        }
    }
}
