//! The dependency rules of `ARCHITECTURE.md`, checked against the workspace as cargo sees it
//! (`cargo metadata --format-version 1 --no-deps`): which perfloop crate may depend on
//! which, who knows clap, and the demo target and the dashboard behind the `demo` and
//! `dashboard` features.
//!
//! The rules name the crates they constrain and the crates they forbid; a crate added to
//! the workspace is free until a rule names it. A rule over "every perfloop crate" means
//! every workspace member whose name starts with `perfloop`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// One dependency of a workspace member.
#[derive(Debug, Clone)]
struct Dep {
    name: String,
    /// `normal`, `dev` or `build`.
    kind: String,
    optional: bool,
}

/// The workspace members and their declared dependencies.
struct Workspace {
    deps: BTreeMap<String, Vec<Dep>>,
    features: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

fn workspace() -> Workspace {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .args(["--manifest-path", manifest])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    let mut deps = BTreeMap::new();
    let mut features = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("a package name").to_owned();
        let list = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .map(|d| Dep {
                name: d["name"].as_str().expect("a dependency name").to_owned(),
                kind: d["kind"].as_str().unwrap_or("normal").to_owned(),
                optional: d["optional"].as_bool().unwrap_or(false),
            })
            .collect();
        let table = package["features"]
            .as_object()
            .expect("features")
            .iter()
            .map(|(k, v)| {
                let list = v.as_array().expect("a feature list");
                let list = list.iter().map(|f| f.as_str().unwrap().to_owned());
                (k.clone(), list.collect())
            })
            .collect();
        deps.insert(name.clone(), list);
        features.insert(name, table);
    }
    Workspace { deps, features }
}

impl Workspace {
    /// The declared dependencies of `krate`, which must be a member.
    fn deps_of(&self, krate: &str) -> &[Dep] {
        self.deps
            .get(krate)
            .unwrap_or_else(|| panic!("{krate} is not a workspace member: update this test"))
    }

    /// The workspace members `krate` links, directly or through other members (normal and
    /// build dependencies; a test's dev-dependencies are not part of the crate).
    fn links(&self, krate: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![krate.to_owned()];
        while let Some(next) = todo.pop() {
            for d in self.deps_of(&next) {
                if d.kind != "dev" && self.deps.contains_key(&d.name) && seen.insert(d.name.clone())
                {
                    todo.push(d.name.clone());
                }
            }
        }
        seen
    }

    fn perfloop_deps(&self, krate: &str) -> Vec<String> {
        let deps = self.deps_of(krate).iter();
        deps.filter(|d| d.name.starts_with("perfloop"))
            .map(|d| format!("{} ({})", d.name, d.kind))
            .collect()
    }
}

#[test]
fn the_engine_knows_no_report_store_tuning_diagnosis_or_capacity_search() {
    let ws = workspace();
    let links = ws.links("perfloop-engine");
    for forbidden in [
        "perfloop-report",
        "perfloop-store",
        "perfloop-tune",
        "perfloop-diagnose",
        "perfloop-capacity",
    ] {
        assert!(
            !links.contains(forbidden),
            "perfloop-engine links {forbidden} (it links {links:?})"
        );
    }
}

#[test]
fn the_monitor_knows_nothing_of_load_generation() {
    let ws = workspace();
    let links = ws.links("perfloop-monitor");
    for forbidden in ["perfloop-engine", "perfloop-capacity"] {
        assert!(
            !links.contains(forbidden),
            "perfloop-monitor links {forbidden} (it links {links:?})"
        );
    }
}

#[test]
fn only_the_binary_knows_clap() {
    let ws = workspace();
    assert!(ws.deps_of("perfloop").iter().any(|d| d.name == "clap"));
    for (krate, deps) in &ws.deps {
        if krate != "perfloop" {
            let clap: Vec<&Dep> = deps.iter().filter(|d| d.name == "clap").collect();
            assert!(clap.is_empty(), "{krate} depends on clap: {clap:?}");
        }
    }
}

#[test]
fn the_leaf_crates_depend_on_no_perfloop_crate() {
    let ws = workspace();
    for krate in [
        "perfloop-demo",
        "perfloop-stats",
        "perfloop-url",
        "perfloop-uring",
    ] {
        let deps = ws.perfloop_deps(krate);
        assert!(deps.is_empty(), "{krate} depends on {deps:?}");
    }
}

#[test]
fn unsafe_code_lives_in_the_ring_crate_only_and_only_the_engine_uses_it() {
    let ws = workspace();
    let crates = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for krate in ws.deps.keys() {
        let dir = krate.as_str();
        let manifest = std::fs::read_to_string(format!("{crates}/{dir}/Cargo.toml"))
            .unwrap_or_else(|e| panic!("{krate}'s manifest: {e}"));
        let lints = manifest
            .split("[lints")
            .nth(1)
            .unwrap_or_else(|| panic!("{krate} has no [lints] table"));
        if krate == "perfloop-uring" {
            // Denied, and allowed only on the functions that hand memory to the kernel.
            assert!(lints.contains("unsafe_code = \"deny\""), "{krate}: {lints}");
        } else {
            // The workspace's `unsafe_code = "forbid"`.
            assert!(
                lints.starts_with("]\nworkspace = true"),
                "{krate} does not take the workspace lints"
            );
        }
    }
    for (krate, list) in &ws.deps {
        let uses = list.iter().any(|d| d.name == "perfloop-uring");
        assert!(
            !uses || krate == "perfloop-engine",
            "{krate} depends on perfloop-uring: the engine's io_uring backend is its one user"
        );
    }
}

#[test]
fn scenarios_know_urls_and_nothing_of_load_generation() {
    let ws = workspace();
    let deps = ws.perfloop_deps("perfloop-scenario");
    assert_eq!(deps, vec!["perfloop-url (normal)".to_owned()]);
}

impl Workspace {
    /// The workspace members `krate` links in every build: as [`Workspace::links`], without
    /// optional dependencies (features).
    fn links_always(&self, krate: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![krate.to_owned()];
        while let Some(next) = todo.pop() {
            for d in self.deps_of(&next) {
                if d.kind != "dev"
                    && !d.optional
                    && self.deps.contains_key(&d.name)
                    && seen.insert(d.name.clone())
                {
                    todo.push(d.name.clone());
                }
            }
        }
        seen
    }
}

/// The binary's optional crates (with axum and tokio), each behind its default feature.
const FEATURES: [(&str, &str); 2] = [("demo", "perfloop-demo"), ("dashboard", "perfloop-serve")];

#[test]
fn the_demo_target_and_the_dashboard_are_default_features_of_the_binary() {
    let ws = workspace();
    let features = &ws.features["perfloop"];
    for (feature, krate) in FEATURES {
        let dep = ws.deps_of("perfloop").iter().find(|d| d.name == krate);
        assert!(
            dep.is_some_and(|d| d.optional && d.kind == "normal"),
            "perfloop's {krate} dependency: {dep:?}"
        );
        assert_eq!(features.get(feature), Some(&vec![format!("dep:{krate}")]));
        assert!(
            features["default"].contains(&feature.to_owned()),
            "{features:?}"
        );
    }
    // Without the features the binary links no async runtime or web framework.
    for d in ws.deps_of("perfloop") {
        assert!(
            !(["axum", "tokio"].contains(&d.name.as_str()) && d.kind == "normal" && !d.optional),
            "perfloop depends on {} outside the demo and dashboard features",
            d.name
        );
    }
    let always = ws.links_always("perfloop");
    for (_, krate) in FEATURES {
        assert!(
            !always.contains(krate),
            "{krate} is linked into every build"
        );
    }
    for krate in always {
        let heavy: Vec<&Dep> = ws
            .deps_of(&krate)
            .iter()
            .filter(|d| ["axum", "tokio"].contains(&d.name.as_str()) && d.kind == "normal")
            .collect();
        assert!(heavy.is_empty(), "{krate} links {heavy:?} into every build");
    }
}

#[test]
fn the_dashboard_reads_results_and_measures_nothing() {
    let ws = workspace();
    let deps = ws.perfloop_deps("perfloop-serve");
    for forbidden in [
        "perfloop-engine",
        "perfloop-capacity",
        "perfloop-tune",
        "perfloop-target",
        "perfloop-monitor",
    ] {
        assert!(
            !deps.iter().any(|d| d.starts_with(&format!("{forbidden} "))),
            "perfloop-serve depends on {forbidden}: {deps:?}"
        );
    }
    // Only the binary serves it.
    for (krate, list) in &ws.deps {
        if krate != "perfloop" && krate != "perfloop-serve" {
            assert!(
                !list
                    .iter()
                    .any(|d| d.name == "perfloop-serve" && d.kind != "dev"),
                "{krate} depends on perfloop-serve"
            );
        }
    }
}
