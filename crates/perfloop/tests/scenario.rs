//! `perfloop load --scenario`: a scenario run end to end, its per-request figures in the
//! JSON record, and scenario files that cannot be used refused with exit 2 before any load,
//! naming the file and line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::PathBuf;

use axum::Router;
use axum::routing::{get, post};

/// A directory of scenario files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "perfloop-cli-scenario-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn server() -> String {
    let app = Router::new()
        .route("/search", get(|| async { "found\n" }))
        .route("/order", post(|body: String| async move { body }));
    format!("http://{}/", common::serve(app))
}

#[test]
fn a_scenario_run_reports_each_request_by_name() {
    let url = server();
    let dir = Dir::new("run");
    dir.file("users.csv", "user\nann\nbob\n");
    let scenario = dir.file(
        "shop.toml",
        "[[feeder]]\nfile = \"users.csv\"\n[[request]]\nname = \"search\"\npath = \"/search?q={{user}}\"\n\
         weight = 3\n[[request]]\nname = \"order\"\nmethod = \"POST\"\npath = \"/order\"\nbody = \"{{user}}\"\n",
    );
    let (code, stdout, stderr) = common::perfloop(&[
        "load",
        &url,
        "--scenario",
        &scenario,
        "-n",
        "400",
        "-c",
        "4",
        "-t",
        "1",
        "-q",
        "--json",
        "-",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(record["requests"]["total"], 400, "{stdout}");
    // The weights 3:1 over 400 requests: exactly 300 and 100 (smooth weighted round robin).
    let mut endpoints: Vec<(String, u64)> = record["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    endpoints.sort();
    assert_eq!(
        endpoints,
        vec![("order".to_owned(), 100), ("search".to_owned(), 300)],
        "{stdout}"
    );
    assert_eq!(record["requests"]["errors"], 0, "{stdout}");
}

#[test]
fn a_scenario_that_cannot_be_used_exits_2_naming_the_file_and_line() {
    let url = server();
    let dir = Dir::new("bad");
    dir.file("short.csv", "user,password\nann,a\nbob\n");
    dir.file("empty.csv", "");
    let cases = [
        (
            "short.toml",
            "[[feeder]]\nfile = \"short.csv\"\n[[request]]\nname = \"a\"\npath = \"/search?q={{user}}\"\n",
            "short.csv:3: ",
            "`password` is missing",
        ),
        (
            "empty.toml",
            "[[feeder]]\nfile = \"empty.csv\"\n[[request]]\nname = \"a\"\npath = \"/search\"\n",
            "empty.csv:1: ",
            "empty",
        ),
        (
            "unknown.toml",
            "[[request]]\nname = \"a\"\npath = \"/search?q={{nope}}\"\n",
            "unknown.toml:3:8: ",
            "unknown placeholder `{{nope}}`",
        ),
        (
            "typo.toml",
            "[[request]]\nname = \"a\"\npath = \"/search\"\nwieght = 2\n",
            "typo.toml:4:1: ",
            "unknown field `wieght`",
        ),
        (
            "elsewhere.toml",
            "[[request]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/search\"\n",
            "elsewhere.toml:3:7: ",
            "the run's target is",
        ),
    ];
    for (name, text, at, says) in cases {
        let scenario = dir.file(name, text);
        let (code, _, stderr) =
            common::perfloop(&["load", &url, "--scenario", &scenario, "-n", "5", "-q"]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains(at) && stderr.contains(says),
            "{name}: {stderr}"
        );
    }
}
