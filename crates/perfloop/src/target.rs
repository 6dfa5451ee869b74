//! The target process of a run: started from a command template (managed) or attached by
//! pid (external), and watched by the resource monitor on the run's time axis.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use perfloop_engine::parse_duration;
use perfloop_monitor::{Recording, Sampler, SamplerConfig, SamplerHandle, ScrapeConfig};
use perfloop_target::{CommandTemplate, Knobs, ManagedTarget, Ready, TargetError, TargetSpec};

use crate::Failure;
use crate::cli::TargetArgs;

/// The shortest sampling interval.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Maps a target error onto exit 2 (bad input) or 3 (the target failed).
pub fn target_failure(e: TargetError) -> Failure {
    if e.is_input_error() {
        Failure::usage(e)
    } else {
        Failure::run(e)
    }
}

/// Everything checked before anything starts.
#[derive(Debug)]
pub struct WatchPlan {
    spec: Option<TargetSpec>,
    pid: Option<u32>,
    interval: Duration,
    scrape: Option<ScrapeConfig>,
}

/// A watched target while the run goes.
#[derive(Debug)]
pub struct Watch {
    managed: Option<ManagedTarget>,
    pid: Option<u32>,
    interval: Duration,
    scrape: Option<ScrapeConfig>,
    command: Option<String>,
}

/// Parses `NAME=VALUE`.
pub fn parse_knob(text: &str) -> Result<(String, String), Failure> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(Failure::usage(anyhow!(
            "invalid --knob '{text}': expected NAME=VALUE"
        ))),
    }
}

impl WatchPlan {
    /// Checks the target flags; `default_ready` is used for a managed target without --ready.
    pub fn resolve(args: &TargetArgs, default_ready: Option<Ready>) -> Result<WatchPlan, Failure> {
        let interval = parse_duration(&args.sample_interval).map_err(Failure::usage)?;
        if interval < MIN_INTERVAL {
            return Err(Failure::usage(anyhow!(
                "--sample-interval '{}' is below the minimum of 100ms",
                args.sample_interval
            )));
        }
        let scrape = match &args.scrape {
            Some(url) => {
                Some(ScrapeConfig::new(url, Some(&args.scrape_match)).map_err(Failure::usage)?)
            }
            None => None,
        };
        if let Some(pid) = args.pid {
            if !perfloop_monitor::pid_exists(pid) {
                return Err(Failure::usage(anyhow!("--pid {pid}: no such process")));
            }
        }
        let spec = match &args.target_cmd {
            None => None,
            Some(text) => {
                let command = CommandTemplate::parse(text).map_err(Failure::usage)?;
                let knobs: Knobs = args
                    .knobs
                    .iter()
                    .map(|k| parse_knob(k))
                    .collect::<Result<_, _>>()?;
                command.check(&knobs).map_err(Failure::usage)?;
                let mut spec = TargetSpec::new(command);
                spec.knobs = knobs;
                spec.ready = match &args.ready {
                    Some(r) => Some(Ready::parse(r).map_err(Failure::usage)?),
                    None => default_ready,
                };
                spec.ready_timeout = parse_duration(&args.ready_timeout).map_err(Failure::usage)?;
                Some(spec)
            }
        };
        Ok(WatchPlan {
            spec,
            pid: args.pid,
            interval,
            scrape,
        })
    }

    /// A plan for a managed target built in code (the demo).
    pub fn managed(spec: TargetSpec, interval: Duration) -> WatchPlan {
        WatchPlan {
            spec: Some(spec),
            pid: None,
            interval,
            scrape: None,
        }
    }

    /// Starts the managed target (waiting until it is ready), or attaches to the pid.
    pub fn start(self) -> Result<Watch, Failure> {
        let command = self.spec.as_ref().map(|s| s.command.as_str().to_string());
        let managed = match &self.spec {
            Some(spec) => Some(ManagedTarget::start(spec).map_err(target_failure)?),
            None => None,
        };
        let pid = managed.as_ref().map(ManagedTarget::pid).or(self.pid);
        Ok(Watch {
            managed,
            pid,
            interval: self.interval,
            scrape: self.scrape,
            command,
        })
    }
}

impl Watch {
    /// Starts sampling; `t_s = 0` at `origin`.
    pub fn sample(&self, origin: Instant) -> Result<SamplerHandle, Failure> {
        let mut config = SamplerConfig::new(origin);
        config.pid = self.pid;
        config.interval = self.interval;
        config.scrape = self.scrape.clone();
        Sampler::start(config).map_err(Failure::run)
    }

    /// The managed target's command template.
    pub fn command(&self) -> Option<&str> {
        self.command.as_deref()
    }

    /// The managed target's last log lines.
    pub fn log_lines(&self, n: usize) -> Vec<String> {
        self.managed
            .as_ref()
            .map(|t| t.last_log_lines(n))
            .unwrap_or_default()
    }

    /// The watched process, if any.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Fails when the managed target has exited, with its last log lines, or when the
    /// watched `--pid` process is gone.
    pub fn check_alive(&self) -> Result<(), Failure> {
        let Some(target) = &self.managed else {
            return match self.pid {
                Some(pid) if !perfloop_monitor::pid_exists(pid) => Err(Failure::run(anyhow!(
                    "the watched process {pid} exited during the run"
                ))),
                _ => Ok(()),
            };
        };
        if target.is_running() {
            return Ok(());
        }
        let status = target
            .exit_status()
            .map_or_else(|| "unknown status".to_string(), |s| s.to_string());
        let lines = target.last_log_lines(20).join("\n  ");
        Err(Failure::run(anyhow!(
            "the target '{}' exited during the run ({status}); its last log lines:\n  {lines}",
            target.command()
        )))
    }

    /// Stops the managed target (its whole process tree).
    pub fn stop(self) -> Result<(), Failure> {
        match self.managed {
            Some(target) => target
                .stop(Duration::from_secs(5))
                .map(|_| ())
                .map_err(target_failure),
            None => Ok(()),
        }
    }
}

/// Moves the recording onto the timeline's axis: `t_s` counts from the end of warm-up.
pub fn shift(recording: &mut Recording, by_s: f64) {
    for s in &mut recording.samples {
        s.t_s -= by_s;
    }
    for series in &mut recording.scraped {
        for p in &mut series.points {
            p.t_s -= by_s;
        }
    }
    if let Some(at) = &mut recording.summary.target_exited_at_s {
        *at -= by_s;
    }
}
