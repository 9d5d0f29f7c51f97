//! `outpost allergy`, `outpost med` and `outpost problem`: allergies, prescriptions checked
//! against them, the drug catalogue, and the problem list. The checks are the core's; this module reads arguments and prints.

use anyhow::{Result, anyhow};
use outpost_core::{
    Core,
    store::{Severity, records::NewPrescription},
};

use crate::{
    cli::{AllergyCmd, Args, MedCmd, ProblemCmd},
    run::{Id, emit, with_session},
};

/// `outpost allergy ...`
pub(crate) async fn allergy(args: &Args, cmd: &AllergyCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        AllergyCmd::Add {
            patient,
            substance,
            reaction,
            severity,
        } => {
            let severity = Severity::from_name(severity.trim())
                .ok_or_else(|| anyhow!("--severity: one of mild, moderate, severe"))?;
            with_session(args, async |core| {
                let a = core
                    .add_allergy(*patient, substance.clone(), reaction.clone(), severity)
                    .await?;
                emit(json, &a, || {
                    let checked = if a.code.is_some() {
                        "checked against prescriptions"
                    } else {
                        "not a drug Outpost knows: NOT checked against prescriptions"
                    };
                    format!("{} ({checked})", a.id)
                })
            })
            .await
        }
        AllergyCmd::None { patient } => {
            with_session(args, async |core| {
                core.record_no_known_allergies(*patient).await?;
                emit(
                    json,
                    &serde_json::json!({ "allergy_status": "none_known" }),
                    || "recorded: no known drug allergies".to_owned(),
                )
            })
            .await
        }
        AllergyCmd::Remove { id, reason } => {
            with_session(args, async |core| {
                let a = core.remove_allergy(*id, reason.clone()).await?;
                emit(json, &a, || format!("removed {}", a.id))
            })
            .await
        }
    }
}

/// `outpost med ...`
pub(crate) async fn med(args: &Args, cmd: &MedCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        MedCmd::Prescribe {
            patient,
            encounter,
            drug,
            dose,
            route,
            frequency,
            duration,
            instructions,
            override_reason,
        } => {
            let new = NewPrescription {
                encounter_id: *encounter,
                drug: drug.clone(),
                dose: dose.clone(),
                route: route.clone(),
                frequency: frequency.clone(),
                duration: duration.clone(),
                instructions: instructions.clone(),
                override_reason: override_reason.clone(),
            };
            with_session(args, async |core| {
                let m = core.prescribe(*patient, new).await?;
                if m.atc.is_none() {
                    eprintln!(
                        "warning: {} is not in the drug catalogue: it was NOT checked against the patient's allergies",
                        m.drug
                    );
                }
                emit(json, &Id { id: m.id.to_hex() }, || m.id.to_hex())
            })
            .await
        }
        MedCmd::List { patient } => {
            with_session(args, async |core| {
                let mut meds = core.medications(*patient).await?;
                // Current ones first, each group newest first (the core's order).
                meds.sort_by_key(|m| m.stopped_at.is_some());
                emit(json, &meds, || {
                    meds.iter()
                        .map(|m| {
                            let state = m.stopped_at.map_or("current", |_| "stopped");
                            format!(
                                "{}  {state:<8} {} {} {} {} for {}",
                                m.id, m.drug, m.dose, m.route, m.frequency, m.duration
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            })
            .await
        }
        MedCmd::Stop { id, reason } => {
            with_session(args, async |core| {
                let m = core.stop_medication(*id, reason.clone()).await?;
                emit(json, &m, || format!("stopped {}", m.id))
            })
            .await
        }
        MedCmd::Drugs { query } => {
            let found = Core::find_drugs(query, 50);
            emit(json, &found, || {
                found
                    .iter()
                    .map(|d| format!("{:<8} {}  ({})", d.atc, d.name, d.forms.join("; ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

/// `outpost problem ...`
pub(crate) async fn problem(args: &Args, cmd: &ProblemCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        ProblemCmd::Add {
            patient,
            encounter,
            code,
            onset,
        } => {
            with_session(args, async |core| {
                let p = core
                    .add_problem(*patient, *encounter, code.clone(), onset.clone())
                    .await?;
                if p.code.is_none() {
                    eprintln!("note: not an ICD-10 code Outpost ships: kept as words, uncoded");
                }
                emit(json, &Id { id: p.id.to_hex() }, || p.id.to_hex())
            })
            .await
        }
        ProblemCmd::Resolve { id, reason } => {
            with_session(args, async |core| {
                let p = core.resolve_problem(*id, reason.clone()).await?;
                emit(json, &p, || format!("resolved {}", p.id))
            })
            .await
        }
        ProblemCmd::Codes { query } => {
            let found = Core::find_diagnoses(query, 50);
            emit(json, &found, || {
                found
                    .iter()
                    .map(|d| format!("{:<8} {}", d.code, d.title))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}
