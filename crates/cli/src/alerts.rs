//! `outpost alerts`: the unusual-access alerts the core raises over the audit trail, their
//! acknowledgement, and the rules' settings. The rules are the core's; this module reads
//! arguments and prints.

use anyhow::{Result, anyhow, bail};
use outpost_core::store::alerts::Rules;

use crate::{
    cli::{AlertsCmd, Args},
    run::{emit, with_session},
};

/// `outpost alerts ...`
pub(crate) async fn alerts(args: &Args, cmd: &AlertsCmd) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| match cmd {
        AlertsCmd::List => {
            let alerts = core.alerts().await?;
            emit(json, &alerts, || {
                if alerts.is_empty() {
                    return "no alerts in the last 90 days".to_owned();
                }
                alerts
                    .iter()
                    .map(|a| {
                        let who = a
                            .actor_name
                            .as_deref()
                            .or(a.alert.actor.as_deref())
                            .unwrap_or("-");
                        let state = match &a.acknowledged {
                            Some(ack) => format!("acknowledged: {}", ack.note),
                            None => "OPEN".to_owned(),
                        };
                        format!(
                            "{}\t{:?}\t{:?}\t{}\t{} events\t{who}\t{state}",
                            a.alert.id,
                            a.alert.urgency,
                            a.alert.rule,
                            a.alert.at,
                            a.alert.events.len()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AlertsCmd::Ack { id, note } => {
            core.acknowledge_alert(id.clone(), note.clone()).await?;
            emit(json, &id, || format!("acknowledged {id}"))
        }
        AlertsCmd::Rules {
            bulk_charts,
            bulk_minutes,
            hours,
            utc_offset,
            failed_unlocks,
        } => {
            let mut rules = core.alert_rules().await?;
            let changing = bulk_charts.is_some()
                || bulk_minutes.is_some()
                || hours.is_some()
                || utc_offset.is_some()
                || failed_unlocks.is_some();
            if let Some(n) = bulk_charts {
                rules.bulk_charts = *n;
            }
            if let Some(m) = bulk_minutes {
                rules.bulk_minutes = *m;
            }
            if let Some(n) = failed_unlocks {
                rules.failed_unlocks = *n;
            }
            if let Some(h) = hours {
                (rules.opens_at, rules.closes_at) = parse_hours(h)?;
            }
            if let Some(o) = utc_offset {
                rules.utc_offset_minutes = parse_offset(o)?;
            }
            if changing {
                core.set_alert_rules(rules).await?;
            }
            emit(json, &rules, || rules_line(&rules))
        }
    })
    .await
}

fn rules_line(r: &Rules) -> String {
    let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    let hours = match (r.opens_at, r.closes_at) {
        (Some(o), Some(c)) => format!("{}-{}", hhmm(o), hhmm(c)),
        _ => "around the clock".to_owned(),
    };
    let sign = if r.utc_offset_minutes < 0 { '-' } else { '+' };
    let off = r.utc_offset_minutes.unsigned_abs();
    format!(
        "bulk access: {} charts in {} min; hours: {hours} (UTC{sign}{:02}:{:02}); failed unlocks: {} in {} min",
        r.bulk_charts,
        r.bulk_minutes,
        off / 60,
        off % 60,
        r.failed_unlocks,
        r.failed_minutes
    )
}

/// `HH:MM` as minutes of the day.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// `07:00-18:00`, or `none` for around the clock.
fn parse_hours(text: &str) -> Result<(Option<u32>, Option<u32>)> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok((None, None));
    }
    let bad = || anyhow!("--hours: like 07:00-18:00 (clinic time), or none");
    let (open, close) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        Some(minutes(open).ok_or_else(bad)?),
        Some(minutes(close).ok_or_else(bad)?),
    ))
}

/// `+01:00`, `-05:30` as minutes.
fn parse_offset(text: &str) -> Result<i32> {
    let text = text.trim();
    let (sign, rest) = match text.chars().next() {
        Some('+') => (1, &text[1..]),
        Some('-') => (-1, &text[1..]),
        _ => bail!("--utc-offset: like +01:00 or -05:30"),
    };
    let m = minutes(rest).ok_or_else(|| anyhow!("--utc-offset: like +01:00 or -05:30"))?;
    Ok(sign * i32::try_from(m)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_offsets_are_read_as_clinics_write_them() {
        assert_eq!(parse_hours("07:00-18:30").unwrap(), (Some(420), Some(1110)));
        assert_eq!(parse_hours("none").unwrap(), (None, None));
        assert!(parse_hours("7-18").is_err());
        assert!(parse_hours("25:00-18:00").is_err());
        assert_eq!(parse_offset("+01:00").unwrap(), 60);
        assert_eq!(parse_offset("-05:30").unwrap(), -330);
        assert!(parse_offset("01:00").is_err());
    }
}
