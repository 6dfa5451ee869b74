//! The demo target behind the `demo` feature (on by default): with it, `perfloop
//! demo-target` runs; without it (`--no-default-features`), `perfloop demo` and `perfloop
//! demo-target` exit 2 and say what the build lacks; so do `perfloop serve` and `--serve`
//! without the `dashboard` feature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use assert_cmd::Command;

fn perfloop(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("perfloop")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

#[cfg(feature = "demo")]
#[test]
fn with_the_demo_feature_the_demo_target_runs() {
    let out = perfloop(&["demo-target", "batch", "--records", "200", "--users", "500"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {out:?}");
    assert!(stdout.starts_with("processed 200 records in "), "{stdout}");
    let out = perfloop(&["demo-target", "--workers", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[cfg(not(feature = "demo"))]
#[test]
fn without_the_demo_feature_the_demo_commands_exit_2() {
    for args in [
        &["demo"][..],
        &["demo", "--quick"],
        &["demo-target"],
        &[
            "demo-target",
            "batch",
            "--records",
            "20000",
            "--workers",
            "4",
        ],
    ] {
        let out = perfloop(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("`perfloop {}` is not in this build", args[0]))
                && stderr.contains("`demo` feature"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[cfg(not(feature = "dashboard"))]
#[test]
fn without_the_dashboard_feature_serve_and_dash_dash_serve_exit_2() {
    let out = perfloop(&["serve", "--bind", "127.0.0.1:0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`perfloop serve` is not in this build") && stderr.contains("`dashboard`"),
        "{stderr}"
    );
    // Before any load: the target does not exist, and the run is not saved.
    let out = perfloop(&[
        "load",
        "http://127.0.0.1:9/",
        "-d",
        "30s",
        "--no-save",
        "--serve",
        "127.0.0.1:0",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--serve is not in this build") && stderr.contains("`dashboard`"),
        "{stderr}"
    );
}
