//! Carries out one parsed command against the core and prints the result.

// Printing results is this module's job.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use outpost_core::{
    Core, Role,
    store::{
        audit::AuditFilter,
        records::{EncounterKind, NewPatient, Soap, VitalKind},
    },
};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{
    Args, AttachCmd, AuditCmd, BackupCmd, Command, EncounterCmd, NoteCmd, PatientCmd, VitalsCmd,
};

/// Prints `value` as JSON when asked, else the human line.
fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

fn passphrase(args: &Args) -> Result<Zeroizing<String>> {
    if let Some(file) = &args.passphrase_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read passphrase file {}", file.display()))?,
        );
        return Ok(Zeroizing::new(text.lines().next().unwrap_or("").to_owned()));
    }
    match std::env::var("OUTPOST_PASSPHRASE") {
        Ok(p) if !p.is_empty() => Ok(Zeroizing::new(p)),
        _ => bail!("no passphrase: set OUTPOST_PASSPHRASE or pass --passphrase-file"),
    }
}

fn profile_dir(args: &Args) -> Result<PathBuf> {
    args.profile
        .clone()
        .ok_or_else(|| anyhow!("no profile: pass --profile DIR or set OUTPOST_PROFILE"))
}

/// Opens the core and unlocks it as the chosen (or first) user.
async fn unlocked(args: &Args) -> Result<Core> {
    let core = Core::open(profile_dir(args)?)?;
    let user = match &args.user {
        Some(u) => u.clone(),
        None => core
            .users()
            .await?
            .first()
            .map(|u| u.id.clone())
            .ok_or_else(|| anyhow!("the profile has no users"))?,
    };
    core.unlock(user, passphrase(args)?).await?;
    Ok(core)
}

/// Unlocks, runs `f`, and locks again whether `f` succeeded or not, so every command's session
/// ends with a `lock` audit entry and the key zeroized.
async fn with_session<T>(args: &Args, f: impl AsyncFnOnce(&Core) -> Result<T>) -> Result<T> {
    let core = unlocked(args).await?;
    let out = f(&core).await;
    core.lock().await?;
    out
}

#[derive(Serialize)]
struct Id<'a> {
    id: &'a str,
}

pub async fn run(args: Args) -> Result<()> {
    let args = &args;
    let json = args.json;
    match &args.command {
        Command::Init { name, role } => {
            let core = Core::open(profile_dir(args)?)?;
            let recovery = core
                .create_profile(name.clone(), Role::parse(role)?, passphrase(args)?)
                .await?;
            let user = core.current_user().await?;
            core.lock().await?;
            emit(
                json,
                &serde_json::json!({ "user_id": user.id, "recovery_key": recovery.as_str() }),
                || {
                    format!(
                        "Profile created for {} ({}).\nRecovery key (shown once; print it and keep it locked away):\n  {}",
                        user.name,
                        user.role.as_str(),
                        recovery.as_str()
                    )
                },
            )
        }
        Command::Patient(cmd) => patient(args, cmd).await,
        Command::Encounter(EncounterCmd::Add { patient, kind }) => {
            with_session(args, async |core| {
                let e = core
                    .add_encounter(patient.clone(), EncounterKind::parse(kind)?)
                    .await?;
                emit(json, &Id { id: &e.id }, || e.id.clone())
            })
            .await
        }
        Command::Note(cmd) => note(args, cmd).await,
        Command::Vitals(VitalsCmd::Add {
            patient,
            encounter,
            kind,
            value,
            value2,
        }) => {
            with_session(args, async |core| {
                let v = core
                    .add_vital(
                        patient.clone(),
                        encounter.clone(),
                        VitalKind::parse(kind)?,
                        *value,
                        *value2,
                    )
                    .await?;
                emit(json, &Id { id: &v.id }, || v.id.clone())
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
                        .add_attachment(patient.clone(), file.clone(), media_type.clone())
                        .await?;
                    emit(json, &Id { id: &a.id }, || a.id.clone())
                }
                AttachCmd::Get { id, out } => {
                    let a = core.save_attachment(id.clone(), out.clone()).await?;
                    emit(json, &a, || {
                        format!("wrote {} ({} bytes)", out.display(), a.size)
                    })
                }
            })
            .await
        }
        Command::Audit(cmd) => audit(args, cmd).await,
        Command::Backup(cmd) => backup(args, cmd).await,
    }
}

async fn patient(args: &Args, cmd: &PatientCmd) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| match cmd {
        PatientCmd::Add {
            given,
            family,
            birth_date,
            sex,
            clinic_id,
            contact,
        } => {
            let p = core
                .add_patient(NewPatient {
                    given_name: given.clone(),
                    family_name: family.clone(),
                    birth_date: birth_date.clone(),
                    sex: sex.clone(),
                    clinic_id: clinic_id.clone(),
                    contact: contact.clone(),
                })
                .await?;
            emit(json, &Id { id: &p.id }, || p.id.clone())
        }
        PatientCmd::List { search } => {
            let list = core.search_patients(search.clone()).await?;
            emit(json, &list, || {
                list.iter()
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
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        PatientCmd::Show { id } => {
            let chart = core.chart(id.clone()).await?;
            emit(json, &chart, || {
                format!(
                    "{}, {} (born {}) — {} encounters, {} notes, {} vitals, {} attachments",
                    chart.patient.family_name,
                    chart.patient.given_name,
                    chart.patient.birth_date,
                    chart.encounters.len(),
                    chart.notes.len(),
                    chart.vitals.len(),
                    chart.attachments.len()
                )
            })
        }
    })
    .await
}

async fn note(args: &Args, cmd: &NoteCmd) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| match cmd {
        NoteCmd::Write {
            patient,
            encounter,
            subjective,
            objective,
            assessment,
            plan,
        } => {
            let soap = Soap {
                subjective: subjective.clone(),
                objective: objective.clone(),
                assessment: assessment.clone(),
                plan: plan.clone(),
            };
            let n = core
                .write_note(patient.clone(), encounter.clone(), soap)
                .await?;
            emit(json, &Id { id: &n.id }, || n.id.clone())
        }
        NoteCmd::Sign { id } => {
            let n = core.sign_note(id.clone()).await?;
            emit(json, &n, || format!("signed {}", n.id))
        }
        NoteCmd::Addendum { id, text } => {
            let a = core.add_addendum(id.clone(), text.clone()).await?;
            emit(json, &Id { id: &a.id }, || a.id.clone())
        }
        NoteCmd::Show { id } => {
            let n = core.note(id.clone()).await?;
            emit(json, &n, || {
                let mut s = format!(
                    "S: {}\nO: {}\nA: {}\nP: {}\n{}",
                    n.soap.subjective,
                    n.soap.objective,
                    n.soap.assessment,
                    n.soap.plan,
                    if n.signed_at.is_some() {
                        "signed"
                    } else {
                        "draft"
                    }
                );
                for a in &n.addenda {
                    s.push_str("\nAddendum: ");
                    s.push_str(&a.text);
                }
                s
            })
        }
    })
    .await
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
                    actor: actor.clone(),
                    record_id: record.clone(),
                    limit: Some(*limit),
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
        AuditCmd::Verify => {
            let n = core.verify_audit().await?;
            emit(
                json,
                &serde_json::json!({ "ok": true, "entries": n }),
                || format!("audit chain intact: {n} entries"),
            )
        }
    })
    .await
}

async fn backup(args: &Args, cmd: &BackupCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        BackupCmd::Create { file } => {
            with_session(args, async |core| {
                let m = core.create_backup(file.clone(), passphrase(args)?).await?;
                emit(json, &m, || format!("backup written to {}", file.display()))
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
            core.lock().await?;
            emit(
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
            )
        }
    }
}
