//! The demo's HTTPS stage: a scenario of two endpoints, `POST /match` (the demo's varying
//! bodies, taken in turn from a CSV feeder) and `GET /health`, weighted 4 to 1, against a
//! second demo target that serves TLS with a self-signed certificate it generates at start
//! (`demo-target --tls --cert-out`), the certificate trusted with `--cacert` as a user
//! would. No warm-up, so that every connection's TLS handshake falls in the measured window.
//!
//! Its headline says which endpoint took most of the time waited on the target and what
//! the handshakes cost; the full report goes to `https.txt` and `https.json`, the scenario
//! and its feeder stay beside them (`https.toml`, `https-bodies.csv`) to be run again by
//! hand.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use perfloop_engine::TlsOptions;
use perfloop_engine::spec::{Given, LoadSpec, RequestOptions};
use perfloop_report::export::{JsonExporter, TextExporter};
use perfloop_report::{EndpointFigures, PhaseMs, RunRecord};

use super::{
    DASH, Plan, RECORDS_PER_REQUEST, file, headline, latency, listening_address, stage,
    start_target,
};
use crate::Failure;
use crate::load::{Measured, measure};

/// Connections of the HTTPS stage.
const CONNECTIONS: u32 = 16;
/// The scenario's requests: name, weight.
const MIX: [(&str, u32); 2] = [("match", 4), ("health", 1)];

/// Runs the stage: writes the scenario, starts the HTTPS target, measures, stops it, and
/// prints the headline.
pub(super) fn run_stage(plan: &Plan, bodies: &[Vec<u8>], dir: &Path) -> Result<RunRecord, Failure> {
    let scenario = dir.join("https.toml");
    write(&dir.join("https-bodies.csv"), &feeder(bodies))?;
    write(&scenario, &scenario_text())?;
    let cert = dir.join("demo-target.pem");
    let [(matching, match_weight), (health, health_weight)] = MIX;
    stage(&format!(
        "4. HTTPS scenario: {matching} (POST /match, {RECORDS_PER_REQUEST} records) and \
         {health} (GET /health) weighted {match_weight} to {health_weight}, {CONNECTIONS} \
         connections for {:.0} s, over TLS to a second demo target whose certificate, made at \
         its start, is trusted with --cacert",
        plan.https.as_secs_f64(),
    ));
    let watch = start_target(plan, Some(&cert))?;
    let measured = listening_address(&watch).and_then(|addr| {
        let spec = LoadSpec {
            request: RequestOptions {
                scenario: Some(scenario.clone()),
                tls: TlsOptions {
                    cacert: Some(cert.clone()),
                    ..TlsOptions::default()
                },
                ..RequestOptions::new(format!("https://{addr}/"))
            },
            connections: Some(CONNECTIONS),
            duration: Some(Given::Value(plan.https)),
            warmup: Some(Given::Value(Duration::ZERO)),
            ..LoadSpec::default()
        };
        let resolved = spec.resolve().map_err(Failure::run)?;
        measure(&resolved, Some(&watch), false)
    });
    let stopped = watch.stop();
    let Measured { record, .. } = measured?;
    stopped?;
    crate::output::first_failure([
        crate::output::write_record(&file(dir, "https.txt"), &TextExporter, &record),
        crate::output::write_record(&file(dir, "https.json"), &JsonExporter, &record),
    ])?;
    for line in headline_lines(&record) {
        headline(&line);
    }
    headline("report: https.txt · https.json · the scenario: https.toml (with https-bodies.csv)");
    Ok(record)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::run)
}

/// The bodies as a CSV feeder of one column, `body`, each value quoted (RFC 4180).
fn feeder(bodies: &[Vec<u8>]) -> String {
    let mut out = String::from("body\n");
    for body in bodies {
        let text = String::from_utf8_lossy(body);
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push_str("\"\n");
    }
    out
}

/// The scenario file.
fn scenario_text() -> String {
    let [(matching, match_weight), (health, health_weight)] = MIX;
    format!(
        "# The demo's HTTPS scenario: POST /match with the demo's varying bodies, taken in turn\n\
         # from https-bodies.csv, and GET /health. Run it again against a demo target serving TLS:\n\
         #\n\
         #   perfloop demo-target --tls --cert-out demo-target.pem --listen 127.0.0.1:8443 &\n\
         #   perfloop load https://127.0.0.1:8443/ --scenario https.toml --cacert demo-target.pem\n\
         \n\
         headers = [\"Accept: application/json\"]\n\
         \n\
         [[feeder]]\n\
         file = \"https-bodies.csv\"\n\
         order = \"sequential\"\n\
         \n\
         [[request]]\n\
         name = \"{matching}\"\n\
         method = \"POST\"\n\
         path = \"/match\"\n\
         headers = [\"Content-Type: application/json\"]\n\
         body = \"{{{{body}}}}\"\n\
         weight = {match_weight}\n\
         \n\
         [[request]]\n\
         name = \"{health}\"\n\
         path = \"/health\"\n\
         weight = {health_weight}\n"
    )
}

/// The stage's headline: the run's figures, each endpoint's share of the time waited
/// (most first), the TLS session and what its handshakes cost.
fn headline_lines(r: &RunRecord) -> Vec<String> {
    let cpu = r
        .target
        .summary
        .as_ref()
        .and_then(|s| s.cpu_pct_mean)
        .map_or_else(String::new, |c| {
            format!(" · target CPU {c:.0} % of one core")
        });
    let mut lines = vec![format!(
        "{:.0} req/s · p50 {} · p99 {} · {} error{}{cpu}",
        r.throughput_rps,
        latency(r.latency_ms.count, r.latency_ms.p50),
        latency(r.latency_ms.count, r.latency_ms.p99),
        r.requests.errors,
        if r.requests.errors == 1 { "" } else { "s" }
    )];
    let mut endpoints: Vec<&EndpointFigures> = r.endpoints.iter().collect();
    endpoints.sort_by(|a, b| b.time_share.total_cmp(&a.time_share));
    if let Some((first, others)) = endpoints.split_first() {
        let mut text = format!(
            "{} takes {:.1} % of the time waited on the target {}",
            first.name,
            first.time_share * 100.0,
            endpoint(first)
        );
        for e in others {
            text.push_str(&format!(
                "; {} {:.1} % {}",
                e.name,
                e.time_share * 100.0,
                endpoint(e)
            ));
        }
        lines.push(text);
    }
    lines.push(tls_line(r));
    if let Some(w) = r.warnings.iter().find(|w| w.invalidates) {
        lines.push(format!("WARNING: {}", w.message));
    }
    lines
}

/// One endpoint's figures in brackets: `(312 req/s, p99 14.2 ms)`, and its errors if any.
fn endpoint(e: &EndpointFigures) -> String {
    let errors = match e.errors {
        0 => String::new(),
        1 => ", 1 error".to_string(),
        n => format!(", {n} errors"),
    };
    format!(
        "({:.0} req/s, p99 {}{errors})",
        e.throughput_rps,
        latency(e.latency_ms.count, e.latency_ms.p99),
    )
}

/// The TLS session and the handshakes: `TLS TLSv1_3 TLS13_AES_256_GCM_SHA384 · 16 handshakes,
/// p50 1.21 ms, max 3.40 ms (connect p50 0.12 ms)`.
fn tls_line(r: &RunRecord) -> String {
    let session = r.tls.as_ref().map_or_else(
        || "no TLS session".to_string(),
        |t| format!("{} {}", t.version, t.cipher),
    );
    let phase = |p: &PhaseMs| (latency(p.count, p.p50), latency(p.count, p.max));
    let handshakes = match &r.phases_ms.tls_handshake {
        Some(h) => {
            let (p50, max) = phase(h);
            format!(
                "{} handshake{}, p50 {p50}, max {max}",
                h.count,
                if h.count == 1 { "" } else { "s" }
            )
        }
        None => format!("handshakes {DASH} (none in the window)"),
    };
    let connect = r
        .phases_ms
        .connect
        .as_ref()
        .map_or_else(String::new, |c| format!(" (connect p50 {})", phase(c).0));
    format!("TLS {session} · {handshakes}{connect}")
}

/// The stage in the loop's summary: the endpoint that takes most of the time waited, and
/// the handshakes' median.
pub(super) fn summary_line(r: &RunRecord) -> String {
    let most = r
        .endpoints
        .iter()
        .max_by(|a, b| a.time_share.total_cmp(&b.time_share))
        .map_or_else(
            || "no endpoint measured".to_string(),
            |e| {
                format!(
                    "{} takes {:.1} % of the time waited",
                    e.name,
                    e.time_share * 100.0
                )
            },
        );
    let handshake = r
        .phases_ms
        .tls_handshake
        .as_ref()
        .map_or_else(|| DASH.to_string(), |h| latency(h.count, h.p50));
    format!(
        "{:.0} req/s over TLS · {most} · TLS handshake p50 {handshake}",
        r.throughput_rps
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_feeder_quotes_each_body_whole() {
        let csv = feeder(&[br#"{"records": [{"name": "A, B"}]}"#.to_vec()]);
        assert_eq!(
            csv,
            "body\n\"{\"\"records\"\": [{\"\"name\"\": \"\"A, B\"\"}]}\"\n"
        );
    }

    #[test]
    fn the_scenario_reads_as_two_weighted_endpoints_fed_by_its_bodies() {
        let dir = std::env::temp_dir().join(format!("perfloop-demo-https-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bodies = [
            b"{\"records\": []}".to_vec(),
            b"{\"records\": [1]}".to_vec(),
        ];
        write(&dir.join("https-bodies.csv"), &feeder(&bodies)).unwrap();
        write(&dir.join("https.toml"), &scenario_text()).unwrap();
        let spec = LoadSpec {
            request: RequestOptions {
                scenario: Some(dir.join("https.toml")),
                ..RequestOptions::new("https://127.0.0.1:8443/")
            },
            ..LoadSpec::default()
        };
        let resolved = spec.resolve();
        std::fs::remove_dir_all(&dir).unwrap();
        let names = resolved.map(|r| r.config.endpoint_names());
        assert_eq!(
            names.map_err(|e| e.to_string()),
            Ok(vec!["match".to_string(), "health".to_string()])
        );
    }
}
