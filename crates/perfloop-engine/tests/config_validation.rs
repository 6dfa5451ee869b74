//! A configuration that cannot describe a run is refused before any connection, with a
//! message that names the problem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use perfloop_engine::{
    ConfigError, LoadConfig, Model, Plan, RunError, Silent, Target, parse_duration, parse_rate,
    parse_stages, run,
};

/// A config against a port nothing listens on: validation must refuse it before connecting.
fn base() -> LoadConfig {
    closed(&url(dead_addr(), "/"), 2)
}

/// What is wrong, how to make a valid config so, and the text the message must contain.
type Case = (&'static str, fn(&mut LoadConfig), &'static str);

#[test]
fn invalid_settings_are_refused_naming_the_problem() {
    let cases: [Case; 9] = [
        ("no threads", |c| c.threads = 0, "--threads"),
        (
            "no end",
            |c| {
                c.limits.duration = None;
                c.limits.requests = None;
            },
            "needs an end",
        ),
        (
            "warm-up with stages",
            |c| {
                c.model = Model::Closed {
                    connections: parse_stages("1s:2").unwrap(),
                };
                c.limits.warmup = Duration::from_millis(100);
            },
            "--warmup",
        ),
        (
            "zero duration",
            |c| c.limits.duration = Some(Duration::ZERO),
            "duration",
        ),
        ("zero requests", |c| c.limits.requests = Some(0), "-n"),
        (
            "zero timeout",
            |c| c.limits.timeout = Duration::ZERO,
            "--timeout",
        ),
        (
            "no connections",
            |c| {
                c.model = Model::Closed {
                    connections: Plan::Constant(0.0),
                }
            },
            "-c",
        ),
        (
            "half a connection",
            |c| {
                c.model = Model::Closed {
                    connections: Plan::Constant(1.5),
                }
            },
            "-c",
        ),
        (
            "no open connections",
            |c| {
                c.model = Model::Open {
                    rate: Plan::Constant(10.0),
                    max_connections: 0,
                };
            },
            "--max-connections",
        ),
    ];
    for (what, change, names) in cases {
        let mut c = base();
        change(&mut c);
        let err = c.validate().expect_err(what);
        assert!(matches!(err, ConfigError::Invalid(_)), "{what}: {err:?}");
        assert!(
            err.to_string().contains(names),
            "{what}: '{err}' should name {names}"
        );
        match run(&c, no_stop(), &mut Silent) {
            Err(RunError::Config(e)) => assert_eq!(e, err, "{what}"),
            other => panic!("{what}: run must refuse the config, got {other:?}"),
        }
    }
}

#[test]
fn warmup_with_stages_message_names_both_settings() {
    let mut c = base();
    c.model = Model::Closed {
        connections: parse_stages("1s:2").unwrap(),
    };
    c.limits.warmup = Duration::from_millis(100);
    let err = c.validate().unwrap_err().to_string();
    assert!(
        err.contains("--warmup") && err.contains("--stages"),
        "{err}"
    );
}

#[test]
fn invalid_method_is_refused_naming_it() {
    let mut c = base();
    c.request.method = "GE T".into();
    assert_eq!(
        c.validate(),
        Err(ConfigError::Method {
            text: "GE T".into()
        })
    );
}

#[test]
fn stages_alone_are_an_end() {
    let mut c = base();
    c.model = Model::Open {
        rate: parse_stages("1s:10").unwrap(),
        max_connections: 4,
    };
    c.limits.duration = None;
    c.limits.requests = None;
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn bad_text_is_refused_naming_it() {
    let tls = Target::parse("gopher://127.0.0.1:8443/").unwrap_err();
    assert!(matches!(tls, ConfigError::Url(_)), "{tls:?}");
    assert!(tls.to_string().contains("gopher"), "{tls}");
    let errors = [
        Target::parse("not a url").unwrap_err(),
        parse_duration("10 parsecs").unwrap_err(),
        parse_rate("fast").unwrap_err(),
        parse_stages("10s:100,oops").unwrap_err(),
    ];
    for (err, text) in errors
        .iter()
        .zip(["not a url", "10 parsecs", "fast", "oops"])
    {
        assert!(
            err.to_string().contains(text),
            "'{err}' should name '{text}'"
        );
    }
}
