//! Live progress on stderr while a run goes: elapsed time, the last second's throughput,
//! p99 and the errors so far. Off when stderr is not a terminal or with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use perfloop_engine::{Observer, TimelineRow};

/// Draws the progress bar from the engine's per-second rows.
pub struct Progress {
    bar: Option<ProgressBar>,
    requests: u64,
    errors: u64,
}

impl Progress {
    /// A progress display for a run whose measured window lasts `window` (if known) after
    /// `warmup`; hidden when `quiet` or when stderr is not a terminal.
    pub fn new(window: Option<Duration>, warmup: Duration, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                requests: 0,
                errors: 0,
            };
        }
        let bar = match window {
            Some(w) => {
                let bar = ProgressBar::with_draw_target(
                    Some(w.as_secs().max(1)),
                    ProgressDrawTarget::stderr(),
                );
                let style = ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bar.set_style(style);
                bar
            }
        };
        if !warmup.is_zero() {
            bar.set_message(format!("warming up for {:.1} s", warmup.as_secs_f64()));
        } else {
            bar.set_message("starting");
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            requests: 0,
            errors: 0,
        }
    }

    /// Prints a line on stderr above the bar (or alone without one).
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line.trim_end_matches('\n')),
            None => crate::output::stderr_text(line),
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn second(&mut self, row: &TimelineRow) {
        self.requests += row.requests;
        self.errors += row.errors;
        if let Some(bar) = &self.bar {
            bar.set_position(row.t_s + 1);
            let p99 = row
                .p99_ms
                .map_or_else(|| "–".to_string(), |v| format!("{v:.2}"));
            bar.set_message(format!(
                "{:>9.0} req/s   p99 {p99:>8} ms   requests {}   errors {}",
                row.rps, self.requests, self.errors
            ));
        }
    }
}
