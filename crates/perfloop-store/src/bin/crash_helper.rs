//! A helper for the store's crash test: `perfloop-store-crash-helper DB N` opens the store,
//! records study `crash` with N finished trials (trial n has objective 10·n and parameters
//! `{"n":n}`), begins trial N, prints `began the last trial` and waits to be killed (at most
//! ten minutes).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use perfloop_store::{FinalState, NewStudy, Store, TrialOutcome};

fn run(args: &[String]) -> Result<(), String> {
    let [db, n] = args else {
        return Err("usage: perfloop-store-crash-helper DB N".to_string());
    };
    let n: u32 = n.parse().map_err(|e| format!("N '{n}': {e}"))?;
    let store = Store::open(Path::new(db)).map_err(|e| e.to_string())?;
    let study = store
        .create_study(&NewStudy {
            name: "crash".to_string(),
            spec_json: "{}".to_string(),
            fingerprint: "0".to_string(),
        })
        .map_err(|e| e.to_string())?;
    for number in 0..n {
        let id = store
            .begin_trial(study, number, &format!(r#"{{"n":{number}}}"#))
            .map_err(|e| e.to_string())?;
        let now = SystemTime::now();
        let outcome = TrialOutcome {
            state: FinalState::Complete,
            objective: Some(f64::from(number) * 10.0),
            metrics_json: "{}".to_string(),
            reason: None,
            started_at: now,
            finished_at: now,
        };
        store
            .finish_trial(id, &outcome)
            .map_err(|e| e.to_string())?;
    }
    store
        .begin_trial(study, n, r#"{"n":"last"}"#)
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "began the last trial").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(600));
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "crash helper: {e}");
            ExitCode::from(2)
        }
    }
}
