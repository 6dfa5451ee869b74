//! The measuring parent of a benchmarked command: `perfloop __measure --result FILE --
//! PROGRAM ARGS...` ([`MEASURE_ARG`], [`measure`]).
//!
//! Why a separate process: at `execve` the kernel folds the memory high-water mark of the
//! address space being replaced into the new program's `ru_maxrss`. A command spawned by
//! perfloop (with `vfork`/`posix_spawn`, or `fork`) replaces perfloop's own address space (or
//! a copy of it), so `wait4` in perfloop would report at least perfloop's own peak RSS for
//! every command. The measurer is a freshly started, small process: the command inherits
//! only the measurer's few megabytes as a floor.
//!
//! The measurer inherits stdin, stdout, stderr and the environment from perfloop and passes
//! them on; it starts the command, times it from just before the spawn to the reaping
//! (its own start-up is not counted), waits for it with `wait4`, writes one line to the
//! result file and exits with the command's status (the code, or 128 + the signal):
//!
//! ```text
//! ok WALL_NS USER_NS SYS_NS MAXRSS_BYTES code N      (or: ... signal N)
//! error MESSAGE                                       (the command could not be run)
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use wait4::Wait4;

use crate::exit::ExitInfo;

/// The first argument that makes the perfloop binary run [`measure`] with the rest.
pub const MEASURE_ARG: &str = "__measure";

/// What the measurer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Measured {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    pub maxrss: u64,
    pub exit: ExitInfo,
}

impl Measured {
    fn to_line(self) -> String {
        format!(
            "ok {} {} {} {} {}",
            self.wall.as_nanos(),
            self.user.as_nanos(),
            self.sys.as_nanos(),
            self.maxrss,
            self.exit.to_wire()
        )
    }

    /// Reads a result line: the measurement, or the error message the measurer wrote.
    pub fn parse(line: &str) -> Result<Measured, String> {
        let line = line.trim();
        if let Some(message) = line.strip_prefix("error ") {
            return Err(message.to_string());
        }
        let bad = || format!("unreadable measurement `{line}`");
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [ok, wall, user, sys, maxrss, kind, n] = fields.as_slice() else {
            return Err(bad());
        };
        if *ok != "ok" {
            return Err(bad());
        }
        let nanos = |s: &str| {
            s.parse::<u64>()
                .map(Duration::from_nanos)
                .map_err(|_| bad())
        };
        Ok(Measured {
            wall: nanos(wall)?,
            user: nanos(user)?,
            sys: nanos(sys)?,
            maxrss: maxrss.parse().map_err(|_| bad())?,
            exit: ExitInfo::from_wire(&format!("{kind} {n}")).ok_or_else(bad)?,
        })
    }
}

/// The measurer's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MeasureOptions {
    pub result: PathBuf,
    pub argv: Vec<String>,
}

impl MeasureOptions {
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--result".to_string(),
            self.result.to_string_lossy().into_owned(),
            "--".to_string(),
        ];
        args.extend(self.argv.iter().cloned());
        args
    }

    pub fn parse(args: &[String]) -> Result<MeasureOptions, String> {
        match args {
            [flag, result, dash, program, rest @ ..] if flag == "--result" && dash == "--" => {
                let mut argv = vec![program.clone()];
                argv.extend(rest.iter().cloned());
                Ok(MeasureOptions {
                    result: PathBuf::from(result),
                    argv,
                })
            }
            _ => Err("expected --result FILE -- PROGRAM ARGS...".into()),
        }
    }
}

fn write_result(path: &PathBuf, line: &str) -> io::Result<()> {
    let mut f = fs::File::create(path)?;
    writeln!(f, "{line}")?;
    f.flush()
}

/// Runs the measurer with the arguments that follow [`MEASURE_ARG`]; returns the exit code
/// for the process (the command's status). See the module documentation.
pub fn measure(args: &[String]) -> i32 {
    let options = match MeasureOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "perfloop measurer: {e}; this mode is started by perfloop itself"
            );
            return 2;
        }
    };
    let program = &options.argv[0];
    let start = Instant::now();
    let child = Command::new(program).args(&options.argv[1..]).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let _ = write_result(
                &options.result,
                &format!("error cannot run `{program}`: {e}"),
            );
            return 127;
        }
    };
    let waited = loop {
        match child.wait4() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    let wall = start.elapsed();
    let usage = match waited {
        Ok(u) => u,
        Err(e) => {
            let _ = write_result(
                &options.result,
                &format!("error waiting for `{program}`: {e}"),
            );
            return 1;
        }
    };
    let measured = Measured {
        wall,
        user: usage.rusage.utime,
        sys: usage.rusage.stime,
        maxrss: usage.rusage.maxrss,
        exit: ExitInfo::from_status(usage.status),
    };
    if let Err(e) = write_result(&options.result, &measured.to_line()) {
        let _ = writeln!(
            io::stderr(),
            "perfloop measurer: cannot write the result: {e}"
        );
        return 1;
    }
    measured.exit.shell_code()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_round_trip() {
        let m = Measured {
            wall: Duration::from_nanos(1_234_567),
            user: Duration::from_micros(900),
            sys: Duration::ZERO,
            maxrss: 4_194_304,
            exit: ExitInfo::signal(9),
        };
        assert_eq!(Measured::parse(&m.to_line()), Ok(m));
        assert_eq!(
            Measured::parse("error cannot run `x`: not found"),
            Err("cannot run `x`: not found".to_string())
        );
        assert!(Measured::parse("ok 1 2 3").is_err());
        assert!(Measured::parse("ok 1 2 3 x code 0").is_err());
    }

    #[test]
    fn options_round_trip() {
        let o = MeasureOptions {
            result: PathBuf::from("/tmp/r"),
            argv: vec!["sh".into(), "-c".into(), "echo -- hi".into()],
        };
        assert_eq!(MeasureOptions::parse(&o.to_args()), Ok(o));
        assert!(MeasureOptions::parse(&["--result".into(), "x".into(), "--".into()]).is_err());
        assert_eq!(measure(&["--bogus".into()]), 2);
    }
}
