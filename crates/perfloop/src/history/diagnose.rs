//! `perfloop diagnose RUN`: the diagnosis of a saved capacity search or load run
//! (`perfloop-diagnose`'s rules on the stored record, a load run as a one-step search),
//! the findings printed in the capacity report's manner, or as JSON with `--json`.
//!
//! The diagnosis is a pure function of the record: the same saved run always gives the
//! same findings, and nothing in the store changes.

use anyhow::anyhow;
use perfloop_report::{Finding, StoredRecord};
use serde_json::json;

use super::reference;
use super::save::existing_store;
use super::show::one_run;
use crate::cli::DiagnoseArgs;
use crate::{Exit, Failure};

/// Runs `perfloop diagnose`.
///
/// Exit codes: 0 diagnosed (findings or none); 2 a bad or unknown run reference, a store
/// that cannot be opened, or a run that is neither a load run nor a capacity search; 3 a
/// record that cannot be read.
pub fn run(args: &DiagnoseArgs) -> Result<Exit, Failure> {
    let wanted = one_run(&args.run)?;
    let store = existing_store(args.store.as_deref())?;
    let entries = reference::resolve(&store, &wanted, None, &[])?;
    let Some(entry) = entries.last() else {
        return Err(Failure::usage(anyhow!("{wanted} is not in the store")));
    };
    let findings = match reference::load_record(&store, entry)? {
        StoredRecord::Run(r) => perfloop_diagnose::diagnose_run(&r),
        StoredRecord::Capacity(r) => perfloop_diagnose::diagnose(&r),
        StoredRecord::Bench(_) | StoredRecord::Study(_) => {
            return Err(Failure::usage(anyhow!(
                "run {} is a {} result: diagnosis needs a load run or a capacity search \
                 (their target's resources and latency); `perfloop history --kind load` and \
                 `--kind capacity` list them",
                entry.id,
                entry.kind
            )));
        }
    };
    let out = if args.json {
        let value = json!({
            "run": entry.id.get(),
            "kind": entry.kind.as_str(),
            "target": entry.target,
            "findings": findings,
        });
        let mut text = serde_json::to_string_pretty(&value)
            .map_err(|e| Failure::run(anyhow!("cannot write the findings as JSON: {e}")))?;
        text.push('\n');
        text
    } else {
        let mut text = format!(
            "Diagnosis of run {} ({}, {})\n",
            entry.id, entry.kind, entry.target
        );
        text.push_str(&render_findings(&findings));
        text
    };
    crate::output::stdout_text(&out);
    Ok(Exit::Ok)
}

/// The findings as the capacity report's "Findings" section writes them: severity, title,
/// summary, the evidence (`•`) and the recommendations (`→`, citing the catalogue).
pub fn render_findings(findings: &[Finding]) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail.
    let _ = perfloop_report::export::write_findings_text(findings, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use perfloop_report::export::WIDTH;
    use perfloop_report::{Evidence, Recommendation, Severity, StrategyRef};

    use super::*;

    #[test]
    fn findings_read_like_the_capacity_report() {
        let finding = Finding {
            rule: "cpu_machine".to_owned(),
            severity: Severity::Critical,
            title: "The target is CPU-bound".to_owned(),
            summary: "Near the limit the target used 95 % of the machine's CPUs, which is \
                      the resource that ran out first."
                .to_owned(),
            evidence: vec![Evidence {
                label: "target CPU".to_owned(),
                value: 380.0,
                unit: "% of one core".to_owned(),
                step: Some(3),
            }],
            recommendations: vec![Recommendation {
                strategy: StrategyRef {
                    section: "2.1".to_owned(),
                    name: "Profile".to_owned(),
                    name_en: "Profile".to_owned(),
                },
                advice: "Profile the hot path.".to_owned(),
            }],
        };
        let text = render_findings(&[finding]);
        assert!(
            text.contains("  CRITICAL  The target is CPU-bound\n"),
            "{text}"
        );
        assert!(
            text.contains("• target CPU: 380 % of one core (step 3)"),
            "{text}"
        );
        assert!(text.contains("→ 2.1 Profile\n"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert_eq!(render_findings(&[]), "\nFindings\n  none\n");
    }
}
