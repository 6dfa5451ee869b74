//! `perfloop demo-target`: the flags resolved into a validated [`DemoConfig`], the demo
//! target run, its errors mapped to exit codes (2 for a value out of range or a certificate
//! file that cannot be written, 3 otherwise).

use perfloop_demo::{DemoConfig, DemoError, Mode};

use crate::cli::{DemoMode, DemoTargetArgs};
use crate::{Exit, Failure};

/// Runs the demo target until SIGTERM or Ctrl-C, or its batch.
pub fn run(args: &DemoTargetArgs) -> Result<Exit, Failure> {
    let run = config(args).and_then(|config| perfloop_demo::run(&config));
    run.map(|()| Exit::Ok).map_err(|e| {
        if e.is_usage() {
            Failure::usage(e)
        } else {
            Failure::run(e)
        }
    })
}

/// The validated configuration the flags ask for.
fn config(args: &DemoTargetArgs) -> Result<DemoConfig, DemoError> {
    let mode = match args.mode {
        None => Mode::Serve {
            listen: args.listen,
            tls: args.tls.then(|| {
                args.cert_out
                    .clone()
                    .unwrap_or_else(perfloop_demo::default_cert_path)
            }),
        },
        Some(DemoMode::Batch { records }) => Mode::Batch { records },
    };
    let config = DemoConfig {
        mode,
        knobs: perfloop_demo::Knobs {
            workers: args.workers,
            batch_size: args.batch_size,
            pool_size: args.pool_size,
            cache_size: args.cache_size,
        },
        users: args.users,
        seed: args.seed,
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    use clap::Parser;
    use perfloop_demo::{DEFAULT_SEED, DEFAULT_USERS, Knobs};

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(args: &[&str]) -> Result<DemoTargetArgs, clap::Error> {
        let cli = Cli::try_parse_from(["perfloop", "demo-target"].iter().chain(args))?;
        match cli.command {
            Command::DemoTarget(args) => Ok(args),
            other => unreachable!("demo-target parsed as {other:?}"),
        }
    }

    fn parse(a: &[&str]) -> Result<DemoConfig, String> {
        let args = args(a).map_err(|e| e.to_string())?;
        config(&args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_serve_on_8080() {
        let c = parse(&[]);
        assert_eq!(
            c,
            Ok(DemoConfig {
                mode: Mode::Serve {
                    listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                    tls: None,
                },
                knobs: Knobs::DEFAULT,
                users: DEFAULT_USERS,
                seed: DEFAULT_SEED,
            })
        );
    }

    #[test]
    fn tls_writes_its_certificate_where_asked_or_to_the_temporary_directory() {
        let tls = |a: &[&str]| match parse(a) {
            Ok(DemoConfig {
                mode: Mode::Serve { tls, .. },
                ..
            }) => Ok(tls),
            other => Err(format!("{other:?}")),
        };
        assert_eq!(
            tls(&["--tls", "--cert-out", "demo.pem"]),
            Ok(Some(PathBuf::from("demo.pem")))
        );
        let default = tls(&["--tls"]);
        assert!(
            default.as_ref().is_ok_and(|p| p
                .as_ref()
                .is_some_and(|p| p.starts_with(std::env::temp_dir()))),
            "{default:?}"
        );
        // --cert-out without --tls is a usage error, not a silent plain HTTP server.
        let e = args(&["--cert-out", "demo.pem"])
            .map_err(|e| e.kind())
            .err();
        assert_eq!(e, Some(clap::error::ErrorKind::MissingRequiredArgument));
    }

    #[test]
    fn knobs_may_follow_the_batch_subcommand() {
        let c = parse(&[
            "batch",
            "--records",
            "20000",
            "--workers",
            "4",
            "--cache-size",
            "0",
        ]);
        let Ok(c) = c else { unreachable!("{c:?}") };
        assert_eq!(c.mode, Mode::Batch { records: 20_000 });
        assert_eq!(c.knobs.workers, 4);
        assert_eq!(c.knobs.cache_size, 0);
        let before = parse(&["--pool-size", "9", "batch"]).map(|c| c.knobs.pool_size);
        assert_eq!(before, Ok(9));
    }

    #[test]
    fn out_of_range_knobs_are_usage_errors() {
        for a in [
            ["--workers", "0"],
            ["--workers", "129"],
            ["--batch-size", "0"],
            ["--pool-size", "257"],
            ["--cache-size", "1000001"],
        ] {
            let kind = args(&a).map_err(|e| e.kind()).err();
            assert_eq!(kind, Some(clap::error::ErrorKind::ValueValidation), "{a:?}");
        }
        assert!(parse(&["--cache-size", "0", "--batch-size", "20000"]).is_ok());
    }

    #[test]
    fn config_checks_the_ranges_too() {
        let Ok(mut args) = args(&[]) else {
            unreachable!("no arguments parse")
        };
        args.workers = 0;
        let e = config(&args).map_err(|e| (e.is_usage(), e.to_string()));
        assert_eq!(
            e,
            Err((
                true,
                "--workers 0 is out of range: it must be between 1 and 128".to_owned()
            ))
        );
        args.workers = 1;
        args.users = 0;
        assert!(config(&args).is_err_and(|e| e.is_usage()));
    }
}
