//! Managed targets with real processes: start, readiness of each kind, stop of the whole
//! tree (grandchildren, double forks, escapes to a new session), early exits, readiness
//! timeouts, and no orphan after the perfloop-side process is killed with SIGKILL.
//!
//! Every sleeping process carries a duration unique to its test (`sleep 61.01`), so that a
//! test can find its processes in /proc and [`common::Reaper`] can kill them should the test
//! fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use perfloop_target::{ExitInfo, Knobs, ManagedTarget, Ready, TargetError, TemplateError};

const GONE: Duration = Duration::from_secs(5);

#[test]
fn starts_and_stops_a_plain_target() {
    let _reaper = Reaper("sleep 61.01");
    let target = ManagedTarget::start(&spec("sleep 61.01")).unwrap();
    let pid = target.pid();
    assert!(alive(pid));
    assert!(target.is_running());
    assert_eq!(target.exit_status(), None);
    // The target leads its own process group.
    assert_eq!(stat(pid).unwrap().2, pid);
    assert_eq!(target.command(), "sleep 61.01");
    let status = target.stop(Duration::from_secs(1)).unwrap();
    assert_eq!(status, ExitInfo::signal(15));
    assert!(wait_until(GONE, || !alive(pid)));
}

#[test]
fn knobs_fill_arguments_and_environment_and_log_readiness_waits_for_them() {
    let _reaper = Reaper("sleep 61.02");
    let mut s = spec(r#"sh -c 'echo "secs={secs} env=$PERFLOOP_KNOB_SECS"; exec sleep {secs}'"#);
    s.knobs = Knobs::from([("secs".to_string(), "61.02".to_string())]);
    s.ready = Some(Ready::parse("log:secs=61\\.02 env=61\\.02").unwrap());
    let target = ManagedTarget::start(&s).unwrap();
    assert!(target.is_running());
    let lines = target.last_log_lines(5);
    assert_eq!(lines, ["secs=61.02 env=61.02"]);
    assert_eq!(target.log_path(), s.log_path.as_deref().unwrap());
    let pid = target.pid();
    // Dropping the target stops it.
    drop(target);
    assert!(wait_until(GONE, || !alive(pid)));
}

#[test]
fn log_readiness_ignores_older_lines_in_the_same_file() {
    let _reaper = Reaper("sleep 61.03");
    let mut s = spec("sh -c 'sleep 0.3; echo listening now; exec sleep 61.03'");
    std::fs::write(
        s.log_path.as_ref().unwrap(),
        "listening now (an older run)\n",
    )
    .unwrap();
    s.ready = Some(Ready::parse("log:listening now").unwrap());
    let started = Instant::now();
    let target = ManagedTarget::start(&s).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "ready too early"
    );
    assert_eq!(target.last_log_lines(10), ["listening now"]);
    target.stop(Duration::from_secs(1)).unwrap();
}

fn python_server(ready: &str, port: u16) -> ManagedTarget {
    let mut s = spec(&format!("python3 -m http.server --bind 127.0.0.1 {port}"));
    let dir = std::env::temp_dir().join(format!("perfloop-target-www-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    s.cwd = Some(dir);
    s.ready = Some(Ready::parse(ready).unwrap());
    ManagedTarget::start(&s).unwrap()
}

#[test]
fn tcp_readiness_with_a_python_server() {
    let port = free_port();
    let target = python_server(&format!("tcp:{port}"), port);
    std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let pid = target.pid();
    target.stop(Duration::from_secs(1)).unwrap();
    assert!(wait_until(GONE, || !alive(pid)));
}

#[test]
fn url_readiness_with_a_python_server() {
    let port = free_port();
    let target = python_server(&format!("http://127.0.0.1:{port}/"), port);
    assert!(target.is_running());
    let pid = target.pid();
    target.stop(Duration::from_secs(1)).unwrap();
    assert!(wait_until(GONE, || !alive(pid)));
}

#[test]
fn stop_takes_down_grandchildren_double_forks_and_new_sessions() {
    let _reaper = Reaper("sleep 61.04");
    let mut s =
        spec("sh -c 'sleep 61.041 & (sleep 61.042 &) ; setsid sleep 61.043 & echo started; wait'");
    s.ready = Some(Ready::parse("log:started").unwrap());
    let target = ManagedTarget::start(&s).unwrap();
    let names = ["sleep 61.041", "sleep 61.042", "sleep 61.043"];
    let mut pids = Vec::new();
    assert!(
        wait_until(GONE, || {
            pids = names.iter().flat_map(|n| exactly(n)).collect();
            pids.len() == 3
        }),
        "the tree did not come up: {pids:?}"
    );
    // The escaped process really left the target's process group.
    let escaped = exactly("sleep 61.043")[0];
    assert_ne!(stat(escaped).unwrap().2, target.pid());
    target.stop(Duration::from_secs(1)).unwrap();
    assert!(
        wait_until(GONE, || pids.iter().all(|p| !alive(*p))),
        "left running: {:?}",
        pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
}

#[test]
fn a_target_that_ignores_sigterm_gets_sigkill_after_the_grace_period() {
    let _reaper = Reaper("sleep 61.05");
    let mut s = spec("sh -c 'trap \"\" TERM; echo up; sleep 61.05; sleep 61.05'");
    s.ready = Some(Ready::parse("log:up").unwrap());
    let target = ManagedTarget::start(&s).unwrap();
    let pid = target.pid();
    let started = Instant::now();
    let status = target.stop(Duration::from_millis(300)).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(status, ExitInfo::signal(9));
    assert!(wait_until(GONE, || !alive(pid) && exactly("sleep 61.05").is_empty()));
}

#[test]
fn a_target_that_exits_before_it_is_ready_reports_its_log() {
    let mut s = spec("sh -c 'echo starting; echo \"fatal: no config file\" >&2; exit 3'");
    s.ready = Some(Ready::Tcp(free_port()));
    let err = ManagedTarget::start(&s).unwrap_err();
    let TargetError::Exited {
        status, last_lines, ..
    } = &err
    else {
        panic!("expected Exited, got {err:?}");
    };
    assert_eq!(*status, ExitInfo::code(3));
    assert!(
        last_lines
            .lines
            .contains(&"fatal: no config file".to_string())
    );
    let text = err.to_string();
    assert!(
        text.contains("exit code 3") && text.contains("fatal: no config file"),
        "{text}"
    );
    assert!(!err.is_input_error());
}

#[test]
fn a_readiness_timeout_stops_the_target() {
    let _reaper = Reaper("sleep 61.06");
    let mut s = spec("sh -c 'echo pid=$$; exec sleep 61.06'");
    s.ready = Some(Ready::parse("log:never printed").unwrap());
    s.ready_timeout = Duration::from_millis(400);
    let started = Instant::now();
    let err = ManagedTarget::start(&s).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let TargetError::NotReady { last_lines, .. } = &err else {
        panic!("expected NotReady, got {err:?}");
    };
    let pid: u32 = last_lines.lines[0]
        .strip_prefix("pid=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        wait_until(GONE, || !alive(pid)),
        "the target was not stopped"
    );
    let text = err.to_string();
    assert!(
        text.contains("log:never printed") && text.contains("pid="),
        "{text}"
    );
}

#[test]
fn a_command_that_cannot_start_is_reported() {
    let err = ManagedTarget::start(&spec("/nonexistent/perfloop-target --flag")).unwrap_err();
    assert!(matches!(err, TargetError::Start { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/perfloop-target"),
        "{err}"
    );
}

#[test]
fn a_knob_without_a_value_is_an_input_error() {
    let err = ManagedTarget::start(&spec("sleep {secs}")).unwrap_err();
    assert!(err.is_input_error());
    assert!(matches!(
        err,
        TargetError::Template(TemplateError::MissingValue { ref name, .. }) if name == "secs"
    ));
}

#[test]
fn the_exit_of_a_target_is_observed() {
    let target = ManagedTarget::start(&spec("sh -c 'exit 7'")).unwrap();
    assert!(wait_until(GONE, || !target.is_running()));
    assert_eq!(target.exit_status(), Some(ExitInfo::code(7)));
    assert_eq!(
        target.stop(Duration::from_secs(1)).unwrap(),
        ExitInfo::code(7)
    );
}

#[test]
fn a_supervisor_that_is_not_one_is_reported() {
    let mut s = spec("sleep 1");
    s.supervisor = perfloop_target::HelperExe::Program("/bin/true".into());
    let err = ManagedTarget::start(&s).unwrap_err();
    assert!(matches!(err, TargetError::Handshake { .. }), "{err:?}");
}

/// Issue 3: perfloop never leaves an orphan, even when it is killed with SIGKILL.
#[test]
fn no_orphan_after_the_perfloop_side_is_killed() {
    let _reaper = Reaper("sleep 61.07");
    let mut holder = Command::new(helper())
        .args(["hold", "sh -c 'sleep 61.071 & exec sleep 61.072'"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = holder.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let pid: u32 = line
        .trim()
        .strip_prefix("target ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .parse()
        .unwrap();
    assert!(
        wait_until(GONE, || group(pid).len() == 2),
        "{:?}",
        group(pid)
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(
        wait_until(GONE, || group(pid).is_empty()),
        "the target's group outlived perfloop: {:?}",
        group(pid)
    );
    assert!(exactly("sleep 61.071").is_empty() && exactly("sleep 61.072").is_empty());
}
