//! The dashboard in a real browser: `tests/browser/dashboard.py` drives Debian's Chromium with
//! Playwright against `perfloop load --serve` and the pages over the store (see the script for
//! what it checks). This test starts the target, runs the script and keeps its screenshots in
//! the target directory (`dashboard-browser/`).
//!
//! It needs `python3` with the `playwright` and `prometheus_client` packages and
//! `/usr/bin/chromium` (`.ci/run` installs them); without them it fails, saying what is
//! missing, rather than pass without looking.

#![cfg(feature = "dashboard")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use axum::Router;
use axum::routing::get;

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let missing = Command::new("python3")
        .args(["-c", "import playwright, prometheus_client"])
        .status()
        .map_or(true, |s| !s.success());
    assert!(
        !missing,
        "the browser test needs python3 with `playwright` and `prometheus_client` \
         (pip install playwright prometheus_client; .ci/run installs them)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    );

    // A target that answers in about a millisecond: enough seconds of samples, few requests.
    let app = Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            "ok"
        }),
    );
    let addr = common::serve(app);

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("history.db");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/dashboard.py");
    // Bounded: the script's own waits are, and `timeout` ends it if a browser hangs.
    let out = Command::new("timeout")
        .args(["300", "python3", script])
        .args(["--perfloop", env!("CARGO_BIN_EXE_perfloop")])
        .args(["--target", &format!("http://{addr}/")])
        .args(["--store", store.to_str().unwrap()])
        .args(["--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser checks failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    for shot in [
        "live-running",
        "live-ended",
        "runs",
        "run",
        "compare",
        "escaped",
    ] {
        let file = dir.join(format!("{shot}.png"));
        let size = std::fs::metadata(&file).map_or(0, |m| m.len());
        assert!(
            size > 1000,
            "no screenshot {} ({size} bytes)",
            file.display()
        );
    }
}
