//! The closed-model concurrency sweep: one point per sweep step (its connections,
//! throughput and latency), and the Universal Scalability Law fitted to the trusted points
//! (`perfloop_stats::usl`). A step that is not trusted measured the generator or broke
//! Little's law, so its point is shown but left out of the fit.

use perfloop_report::{Step, StepKind, Sweep, SweepPoint, UslRecord};

/// The sweep's points and the fit over the trusted ones; rate steps are not part of it.
pub fn sweep(steps: &[Step]) -> Sweep {
    let points: Vec<SweepPoint> = steps
        .iter()
        .filter(|st| st.kind == StepKind::Sweep)
        .map(|st| SweepPoint {
            concurrency: st.offered as u64,
            throughput_rps: st.run.throughput_rps,
            p50_ms: st.run.latency_ms.p50,
            p99_ms: st.run.latency_ms.p99,
            step: st.index,
            trusted: st.verdict.trusted,
        })
        .collect();
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.trusted)
        .map(|p| (p.concurrency as f64, p.throughput_rps))
        .collect();
    let (usl, usl_error) = match perfloop_stats::usl::fit(&xy) {
        Ok(fit) => (Some(UslRecord::from_fit(&fit)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Sweep {
        points,
        usl,
        usl_error,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use perfloop_report::RunRecord;

    use super::*;
    use crate::verdict::{Asked, judge};

    /// Sweep steps over a measured run whose throughput follows the law with σ = 0.05,
    /// κ = 0.001, λ = 100; `untrusted` names the levels whose generator was saturated.
    fn steps(levels: &[u64], untrusted: &[u64]) -> Vec<Step> {
        let base: RunRecord = serde_json::from_str(include_str!("testdata/step-135.json")).unwrap();
        let law = |n: f64| 100.0 * n / (1.0 + 0.05 * (n - 1.0) + 0.001 * n * (n - 1.0));
        let rate = {
            let mut run = base.clone();
            run.throughput_rps = 135.0;
            Step {
                index: 0,
                kind: StepKind::Ramp,
                offered: 135.0,
                verdict: judge(&run, &asked(StepKind::Ramp, 135.0)),
                run,
            }
        };
        let mut all = vec![rate];
        for &n in levels {
            let mut run = base.clone();
            run.throughput_rps = law(n as f64);
            run.generator.saturated = untrusted.contains(&n);
            all.push(Step {
                index: all.len(),
                kind: StepKind::Sweep,
                offered: n as f64,
                verdict: judge(&run, &asked(StepKind::Sweep, n as f64)),
                run,
            });
        }
        all
    }

    fn asked(kind: StepKind, offered: f64) -> Asked {
        Asked {
            kind,
            offered,
            window_s: 5.0,
            rate_margin: 0.05,
        }
    }

    #[test]
    fn the_fit_recovers_the_law_from_the_trusted_points_only() {
        let steps = steps(&[1, 2, 4, 8, 16, 32, 64], &[64]);
        let sweep = sweep(&steps);
        assert_eq!(sweep.points.len(), 7, "every sweep step, no rate step");
        assert_eq!(sweep.points[0].step, 1);
        assert!(!sweep.points[6].trusted && sweep.points[..6].iter().all(|p| p.trusted));
        let usl = sweep.usl.unwrap();
        assert_eq!(usl.points, 6, "the untrusted point is left out");
        assert!((usl.sigma - 0.05).abs() < 1e-6, "{usl:?}");
        assert!((usl.kappa - 0.001).abs() < 1e-6, "{usl:?}");
        assert!((usl.lambda - 100.0).abs() < 1e-3, "{usl:?}");
        assert!(sweep.usl_error.is_none());
    }

    #[test]
    fn too_few_trusted_points_give_the_reason_instead_of_a_fit() {
        let sweep = sweep(&steps(&[1, 2, 4, 8, 16, 32], &[32]));
        assert!(sweep.usl.is_none());
        let why = sweep.usl_error.unwrap();
        assert!(why.contains("at least 6"), "{why}");
    }
}
