//! The command line as typed: clap definitions only. Turning these into a validated run
//! description happens in `load`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use perfloop_capacity::spec as capacity;

/// perfloop: a closed-loop performance engineer for HTTP services and batch jobs.
#[derive(Debug, Parser)]
#[command(name = "perfloop", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate HTTP load against a URL and report latency, throughput and errors.
    Load(Box<LoadArgs>),
    /// Find the highest arrival rate the target sustains within its objectives, and why.
    Capacity(Box<CapacityArgs>),
    /// Benchmark a command: wall time, CPU, peak memory and work per second over repeated runs.
    BenchCmd(BenchCmdArgs),
    /// Find the best configuration of a target: trials of knob values, measured, kept in a
    /// store, confirmed against the defaults.
    Tune(TuneCmdArgs),
    /// Find the points where a series of measurements shifted level (E-divisive means with a
    /// t-test, as Apache Otava does, with a minimum segment length).
    Changepoints(ChangepointsArgs),
    /// The runs kept in the history store, newest first, with a sparkline of a metric and
    /// the runs after which it shifted (--changes).
    History(HistoryArgs),
    /// Re-render a saved run as it was first reported (text, JSON or HTML).
    Show(ShowArgs),
    /// Explain a saved run or capacity search: the bottleneck and what to try, from the
    /// target's own resources.
    Diagnose(DiagnoseArgs),
    /// Compare two runs metric by metric: both values, the change, its 95 % interval and
    /// a verdict (faster, slower or no significant difference).
    Compare(CompareArgs),
    /// For CI: measure (or take a saved run), save it, compare it with a baseline, and exit
    /// 1 on a significant regression past the allowed one.
    Gate(Box<GateArgs>),
    /// The whole loop on the embedded demo target (the record-matching service).
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Run the demo target: the record-matching service, or its batch mode.
    #[cfg(feature = "demo")]
    DemoTarget(DemoTargetArgs),
    /// The whole loop on the demo target: not in this build (built without the `demo`
    /// feature).
    #[cfg(not(feature = "demo"))]
    Demo(Absent),
    /// The demo target: not in this build (built without the `demo` feature).
    #[cfg(not(feature = "demo"))]
    DemoTarget(Absent),
    /// The web dashboard over the history store: runs, charts, comparisons, until Ctrl-C.
    #[cfg(feature = "dashboard")]
    Serve(ServeCmdArgs),
    /// The web dashboard: not in this build (built without the `dashboard` feature).
    #[cfg(not(feature = "dashboard"))]
    Serve(Absent),
}

/// The arguments of a command this build lacks: taken as they come, and refused.
#[cfg(any(not(feature = "demo"), not(feature = "dashboard")))]
#[derive(Debug, Args)]
pub struct Absent {
    /// Whatever followed the command.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

/// `perfloop serve`.
#[cfg(feature = "dashboard")]
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop serve
  perfloop serve --bind 0.0.0.0:9400 --store /srv/perfloop.db

On an address other than loopback every request needs the token (--token, or one generated
and printed at start): 'Authorization: Bearer TOKEN', or the printed address with ?token=.")]
pub struct ServeCmdArgs {
    /// The address to listen on, HOST:PORT (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_SERVE)]
    pub bind: String,

    /// The token every request must carry [default: none on loopback, else generated].
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// The history store [default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,
}

/// The address the dashboard listens on when none is given.
pub const DEFAULT_SERVE: &str = "127.0.0.1:9400";

/// The live dashboard and the alerts of a run; shared by `load`, `capacity` and `tune`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Serve the live dashboard while the run goes (charts, /api/live, /metrics) on ADDR
    /// [default: 127.0.0.1:9400; port 0 picks a free one]; the address is printed at start.
    /// Before a positional argument, write --serve=ADDR.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = DEFAULT_SERVE
    )]
    pub serve: Option<String>,

    /// The token the dashboard requires [default: none on loopback, else generated].
    #[arg(long, value_name = "TOKEN", requires = "serve")]
    pub token: Option<String>,

    /// Keep serving for this long after the run (Ctrl-C stops sooner), e.g. 5m.
    #[arg(long, value_name = "DURATION", requires = "serve")]
    pub serve_linger: Option<String>,

    /// An alert checked each second, e.g. 'p99 > 200ms for 10s', 'error_rate > 1%',
    /// 'rss > 90% of limit' (repeatable); its events are printed, shown live, sent to
    /// --alert-webhook and kept in the record.
    #[arg(long = "alert", value_name = "RULE")]
    pub alerts: Vec<String>,

    /// POST each alert event as JSON to this URL.
    #[arg(long, value_name = "URL", requires = "alerts")]
    pub alert_webhook: Option<String>,
}

/// Where the target comes from and how it is watched; shared by the commands that load it.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Start the target from this command template ('{knob}' placeholders take --knob values).
    #[arg(long, value_name = "CMD")]
    pub target_cmd: Option<String>,

    /// A knob value for the template, NAME=VALUE (repeatable).
    #[arg(long = "knob", value_name = "NAME=VALUE", requires = "target_cmd")]
    pub knobs: Vec<String>,

    /// When the managed target is ready: URL (a 2xx), tcp:PORT or log:REGEX.
    #[arg(long, value_name = "PROBE", requires = "target_cmd")]
    pub ready: Option<String>,

    /// How long the managed target may take to become ready.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub ready_timeout: String,

    /// Watch this already running process (external target).
    #[arg(long, value_name = "PID", conflicts_with = "target_cmd")]
    pub pid: Option<u32>,

    /// How often the target's resources are sampled (100ms or more).
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub sample_interval: String,

    /// Scrape the target's Prometheus metrics from this URL every sample interval.
    #[arg(long, value_name = "URL")]
    pub scrape: Option<String>,

    /// Keep only the scraped series whose name{labels} matches this regex.
    #[arg(long, value_name = "REGEX", default_value = ".*", requires = "scrape")]
    pub scrape_match: String,
}

/// `perfloop bench-cmd`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop bench-cmd 'sleep 0.1' --runs 10
  perfloop bench-cmd -N 'gzip -k -f data.bin'
  perfloop bench-cmd 'perfloop demo-target batch --records 20000 --workers {workers}' \\
      --param workers=1,2,4 --work-regex 'processed (\\d+)'

Through sh -c (the default), the shell's start-up is measured first (50 runs of sh -c '')
and subtracted from every run, as hyperfine does.")]
pub struct BenchCmdArgs {
    /// The command template; '{name}' placeholders take --param values.
    pub command: String,

    /// Measured runs per parameter combination.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,

    /// Unmeasured runs before them.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,

    /// A parameter and its values, NAME=V1,V2,... (repeatable; the cross product is run).
    #[arg(long = "param", value_name = "NAME=VALUES")]
    pub params: Vec<String>,

    /// A regex with one capture group that finds the work count in the command's output.
    #[arg(long, value_name = "REGEX")]
    pub work_regex: Option<String>,

    /// Time allowed for one run.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,

    /// Keep going when the command exits non-zero.
    #[arg(long)]
    pub ignore_failure: bool,

    /// Run the command directly, split into words by shell quoting rules, without `sh -c`
    /// (no pipes, redirections or variables; nothing to subtract for a shell's start-up).
    #[arg(short = 'N', long)]
    pub no_shell: bool,

    /// Write the report as JSON (schema perfloop.bench.v1); '-' for stdout.
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// Where the result is saved.
    #[command(flatten)]
    pub save: SaveArgs,
}

/// `perfloop tune`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop tune study.toml
  perfloop tune study.toml --resume --apply best.env
  perfloop tune study.toml --store results.db --json study.json --html study.html

The store is --store (--db), else $PERFLOOP_DB, else $XDG_DATA_HOME/perfloop/perfloop.db, else
~/.local/share/perfloop/perfloop.db; a postgres:// URL keeps it in PostgreSQL.")]
pub struct TuneArgs {
    /// The study file (TOML): target, knobs, workload, objective, budget.
    #[arg(value_name = "STUDY.toml")]
    pub study: PathBuf,

    /// Continue the study of this name in the store (a trial left running is redone).
    #[arg(long)]
    pub resume: bool,

    /// The store, its tags, and whether the study's result joins the history.
    #[command(flatten)]
    pub save: SaveArgs,

    /// Write the best configuration to FILE (.json, .toml or .env).
    #[arg(long, value_name = "FILE")]
    pub apply: Option<PathBuf>,

    /// The format of --apply when its extension does not say: json, toml or env.
    #[arg(long, value_name = "FORMAT", requires = "apply")]
    pub apply_format: Option<String>,

    /// Write the study record (perfloop.study.v1) as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// Write the HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,

    /// No progress lines or bars; only the summary.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Where the summary is written instead of stdout (not a flag: `perfloop demo` keeps
    /// it in a file).
    #[arg(skip)]
    pub summary: Option<PathBuf>,
}

/// `perfloop tune` as typed: the study's flags and the live dashboard's.
#[derive(Debug, Args)]
pub struct TuneCmdArgs {
    /// The study and its outputs.
    #[command(flatten)]
    pub tune: TuneArgs,

    /// The live dashboard and alerts.
    #[command(flatten)]
    pub live: ServeArgs,
}

/// `perfloop demo`.
#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A shorter demo (under a minute).
    #[arg(long)]
    pub quick: bool,

    /// Write the reports (text, JSON, HTML), the study file and its store into this
    /// directory; without it, into a new directory under the system's temporary one.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `perfloop demo-target`: the record-matching service, or its batch mode.
///
/// The knob flags are global, so they may follow the `batch` subcommand:
/// `perfloop demo-target batch --records 20000 --workers 4`.
#[cfg(feature = "demo")]
#[derive(Debug, Clone, Args)]
pub struct DemoTargetArgs {
    /// Serve HTTP (no subcommand) or run a batch.
    #[command(subcommand)]
    pub mode: Option<DemoMode>,

    /// Address to serve on (port 0 picks a free port; the `listening on` line tells it).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: std::net::SocketAddr,

    /// Serve HTTPS with a self-signed certificate generated at start-up (for localhost,
    /// 127.0.0.1, ::1 and the --listen address); clients trust it with --cacert FILE.
    #[arg(long)]
    pub tls: bool,

    /// Where --tls writes its certificate (PEM); without it, a file under the system's
    /// temporary directory, named in the `certificate` line (removed when the target stops).
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cert_out: Option<PathBuf>,

    /// Worker threads that match batches (each blocks while its batch is at the store).
    #[arg(
        long,
        value_name = "N",
        default_value_t = perfloop_demo::Knobs::DEFAULT.workers,
        value_parser = knob_parser(0),
        global = true
    )]
    pub workers: usize,

    /// Records per batch, and so per store query.
    #[arg(
        long,
        value_name = "N",
        default_value_t = perfloop_demo::Knobs::DEFAULT.batch_size,
        value_parser = knob_parser(1),
        global = true
    )]
    pub batch_size: usize,

    /// Connections to the store (queries outstanding at once).
    #[arg(
        long,
        value_name = "N",
        default_value_t = perfloop_demo::Knobs::DEFAULT.pool_size,
        value_parser = knob_parser(2),
        global = true
    )]
    pub pool_size: usize,

    /// Entries of the LRU cache of store lookups by blocking key (0 turns it off).
    #[arg(
        long,
        value_name = "N",
        default_value_t = perfloop_demo::Knobs::DEFAULT.cache_size,
        value_parser = knob_parser(3),
        global = true
    )]
    pub cache_size: usize,

    /// Known users to generate.
    #[arg(
        long,
        value_name = "N",
        default_value_t = perfloop_demo::DEFAULT_USERS,
        global = true
    )]
    pub users: usize,

    /// Seed of the generated users and of the batch workload.
    #[arg(
        long,
        value_name = "N",
        default_value_t = perfloop_demo::DEFAULT_SEED,
        global = true
    )]
    pub seed: u64,
}

/// A parser that refuses values outside the range of knob `index` of
/// [`perfloop_demo::Knobs::RANGES`] (a usage error, before any work starts).
#[cfg(feature = "demo")]
fn knob_parser(index: usize) -> clap::builder::RangedU64ValueParser<usize> {
    let range = perfloop_demo::Knobs::RANGES[index];
    clap::builder::RangedU64ValueParser::new().range(range.min as u64..=range.max as u64)
}

/// The demo target's work modes besides serving HTTP.
#[cfg(feature = "demo")]
#[derive(Debug, Clone, Subcommand)]
pub enum DemoMode {
    /// Match generated records without HTTP and print `processed N records in X s (R records/s)`.
    Batch {
        /// Records to match (half planted duplicates of known users, half new people).
        #[arg(long, value_name = "N", default_value_t = perfloop_demo::DEFAULT_BATCH_RECORDS)]
        records: usize,
    },
}

/// Which load model `--stages` ramps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// N connections, each sending back to back.
    Closed,
    /// Arrivals on a schedule, latency measured from the intended send time.
    Open,
}

/// `perfloop load`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop load http://127.0.0.1:8080/ -c 64 -d 30s
  perfloop load http://127.0.0.1:8080/ --rate 2000 -d 1m --slo 'p99<50ms' --json run.json
  perfloop load http://127.0.0.1:8080/ --model open --stages '10s:100,30s:1000,10s:0'
  perfloop load http://127.0.0.1:8080/ --level medium")]
pub struct LoadArgs {
    /// What to send, and where.
    #[command(flatten)]
    pub request: RequestArgs,

    /// Closed model: number of connections [default: 10, or the level's].
    #[arg(short = 'c', long = "connections", value_name = "N")]
    pub connections: Option<u32>,

    /// Open model: arrivals per second, independent of the responses.
    #[arg(long, value_name = "R")]
    pub rate: Option<String>,

    /// Which model --stages ramps [default: closed, or open with --rate].
    #[arg(long, value_enum, value_name = "MODEL")]
    pub model: Option<ModelArg>,

    /// Open model: the most connections opened to keep up with the schedule.
    #[arg(long, value_name = "N", default_value_t = perfloop_engine::spec::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Ramps of the rate (open) or connections (closed), from 0: '10s:100,30s:1000,10s:0'.
    #[arg(long, value_name = "STAGES")]
    pub stages: Option<String>,

    /// A named preset: smoke, medium, large or extreme (flags given beside it win).
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<String>,

    /// Measured duration, e.g. 500ms, 30s, 2m [default: 10s unless -n or --stages].
    #[arg(short = 'd', long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// Number of measured requests (with -d: whichever comes first).
    #[arg(short = 'n', long = "requests", value_name = "N")]
    pub requests: Option<u64>,

    /// Load before the measured window, excluded from the statistics.
    #[arg(long, value_name = "DURATION")]
    pub warmup: Option<String>,

    /// A service-level objective, e.g. 'p99<200ms', 'error_rate<0.1%', 'rps>1000', 'cpu<80%',
    /// 'rss_mb<512', or one endpoint's: 'search: p99<200ms' (repeatable). Metrics: p50, p75,
    /// p90, p95, p99, p99.9, max, mean, error_rate, rps (throughput), cpu, rss_mb.
    #[arg(long = "slo", value_name = "EXPR")]
    pub slos: Vec<String>,

    /// Write the run record as JSON (schema perfloop.run.v1); '-' for stdout.
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// Write the per-second timeline as CSV; '-' for stdout.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<String>,

    /// Write the HTML report (timeline plots, latency histogram) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,

    /// No progress bar.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// The target process: managed or watched.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Where the run is saved.
    #[command(flatten)]
    pub save: SaveArgs,

    /// The live dashboard and alerts.
    #[command(flatten)]
    pub live: ServeArgs,
}

/// `perfloop capacity`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop capacity http://127.0.0.1:8080/ --slo 'p99<50ms'
  perfloop capacity http://127.0.0.1:8080/ --slo 'p99<50ms' --slo 'error_rate<0.1%' \\
      --start-rate 100 --growth 1.5 --concurrency 1,2,4,8,16,32 --html capacity.html
  perfloop capacity http://127.0.0.1:8080/ --target-cmd './server --workers 4' --slo 'p99<20ms'")]
pub struct CapacityArgs {
    /// What to send, and where.
    #[command(flatten)]
    pub request: RequestArgs,

    /// An objective every step must hold, e.g. 'p99<50ms' (repeatable; without an
    /// error_rate objective, 'error_rate<1%' applies).
    #[arg(long = "slo", value_name = "EXPR")]
    pub slos: Vec<String>,

    /// Arrivals per second of the first step.
    #[arg(long, value_name = "R", default_value_t = capacity::DEFAULT_START_RATE.to_string())]
    pub start_rate: String,

    /// Each ramp step asks for this many times the previous rate (above 1).
    #[arg(long, value_name = "FACTOR", default_value_t = capacity::DEFAULT_GROWTH)]
    pub growth: f64,

    /// Never ask for more than this rate.
    #[arg(long, value_name = "R")]
    pub max_rate: Option<String>,

    /// Measured time of each step.
    #[arg(long, value_name = "DURATION", default_value_t = duration(capacity::DEFAULT_STEP_DURATION))]
    pub step_duration: String,

    /// Load before each step's measured window, excluded from its figures.
    #[arg(long, value_name = "DURATION", default_value_t = duration(capacity::DEFAULT_STEP_WARMUP))]
    pub step_warmup: String,

    /// Bisect until the failing rate is within this much above the passing one.
    #[arg(long, value_name = "PERCENT", default_value_t = percent(capacity::DEFAULT_RESOLUTION_PCT))]
    pub resolution: String,

    /// A step whose throughput falls short of the asked rate by more than this is saturated.
    #[arg(long, value_name = "PERCENT", default_value_t = percent(capacity::DEFAULT_RATE_MARGIN_PCT))]
    pub rate_margin: String,

    /// The whole search stops before this much time has passed.
    #[arg(long, value_name = "DURATION", default_value_t = duration(capacity::DEFAULT_MAX_TIME))]
    pub max_time: String,

    /// Also sweep these closed-model concurrencies and fit the Universal Scalability Law,
    /// e.g. 1,2,4,8,16,32 (at least 6 levels for the fit).
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    pub concurrency: Vec<u32>,

    /// Open model: the most connections opened to keep up with a step's rate.
    #[arg(long, value_name = "N", default_value_t = perfloop_engine::spec::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Write the capacity record as JSON (schema perfloop.capacity.v1); '-' for stdout.
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// Write a self-contained HTML report with plots.
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,

    /// No progress bars or step lines.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// The target process: managed or watched.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Where the search is saved.
    #[command(flatten)]
    pub save: SaveArgs,

    /// The live dashboard and alerts.
    #[command(flatten)]
    pub live: ServeArgs,
}

/// What each request is and where it goes; shared by the commands that send load.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The target URL: http(s)://HOST[:PORT]/PATH, or tcp://HOST:PORT with --send (raw TCP).
    pub url: String,

    /// HTTP method [default: GET, or POST with a body].
    #[arg(short = 'm', long, value_name = "METHOD")]
    pub method: Option<String>,

    /// A request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// The request body.
    #[arg(short = 'b', long, value_name = "TEXT", conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Read the request body from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "body_lines")]
    pub body_file: Option<PathBuf>,

    /// Read several bodies from a file, one per line; each connection sends them in turn.
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub body_lines: Option<PathBuf>,

    /// A scenario file (TOML): named, weighted requests to the target, their text filled
    /// from CSV feeders, sequences and random numbers, and think time (closed model).
    #[arg(
        long,
        value_name = "FILE.toml",
        conflicts_with_all = ["method", "body", "body_file", "body_lines", "send"]
    )]
    pub scenario: Option<PathBuf>,

    /// Time allowed for one request, from send to the end of the response.
    #[arg(
        long,
        value_name = "DURATION",
        default_value_t = humantime::format_duration(perfloop_engine::spec::DEFAULT_TIMEOUT).to_string()
    )]
    pub timeout: String,

    /// Worker threads, each with its own event loop [default: available cores].
    #[arg(short = 't', long, value_name = "N")]
    pub threads: Option<usize>,

    /// The I/O backend: auto (io_uring for plain HTTP/1.1 where the kernel allows it, else
    /// epoll), epoll, or uring (plain HTTP/1.1 only; refused with TLS, HTTP/2, raw TCP or a
    /// kernel without io_uring).
    #[arg(long, value_name = "BACKEND", default_value = "auto", value_parser = ["auto", "epoll", "uring"])]
    pub io: String,

    /// Raw TCP (tcp://HOST:PORT): the file whose bytes each request sends, with the escapes
    /// \r \n \t \\ \xNN decoded.
    #[arg(long, value_name = "FILE")]
    pub send: Option<PathBuf>,

    /// Raw TCP: each response is exactly N bytes.
    #[arg(long, value_name = "N")]
    pub expect_bytes: Option<u64>,

    /// Raw TCP: each response ends with TEXT (escapes as in --send), e.g. '\r\n'.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub expect_delimiter: Option<String>,

    /// HTTPS: trust only the CA certificates in this PEM file (instead of the system's).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,

    /// HTTPS: accept any server certificate (self-signed, expired, another host's).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// HTTPS: a client certificate (PEM chain) for servers that ask for one.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// HTTPS: the client certificate's private key (PEM) [default: looked for in --cert].
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// A new connection (and TLS handshake) per request: sends `Connection: close`.
    #[arg(long)]
    pub no_keepalive: bool,

    /// HTTP/2: ALPN h2 over https://, prior knowledge over http://.
    #[arg(long)]
    pub http2: bool,

    /// HTTP/2: concurrent streams per connection (as h2load's -m); the closed model keeps
    /// connections × streams requests in flight [default: 1].
    #[arg(long, value_name = "N", requires = "http2")]
    pub streams: Option<usize>,
}

/// A default duration as a flag shows it: `5s`, `10m`.
fn duration(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A default percentage as a flag shows it: `5%`.
fn percent(pct: f64) -> String {
    format!("{pct}%")
}

/// `perfloop changepoints`: the series and the detector's settings.
#[derive(Debug, Args)]
pub struct ChangepointsArgs {
    /// The series: JSON {"values": [...]} or one number per line ('-': standard input).
    pub file: String,

    /// Points in each sliding window of the split step [default: 50].
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,

    /// The largest p-value a change point may have [default: 0.001].
    #[arg(long, value_name = "P")]
    pub p_value: Option<f64>,

    /// The smallest relative change a change point must exceed, e.g. 0.05 [default: 0].
    #[arg(long, value_name = "RATIO")]
    pub magnitude: Option<f64>,

    /// The fewest points in a segment between change points [default: 5; 1 with --otava].
    #[arg(long, value_name = "N")]
    pub min_segment: Option<usize>,

    /// Apache Otava's detector exactly: no minimum segment, independent noise, Otava's merge.
    #[arg(long)]
    pub otava: bool,

    /// Print {"change_points": [{"index", "before", "after", "p_value"}, ...]} instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where a result is saved: the history store and the run's tags. Every `load`,
/// `capacity`, `bench-cmd` and `tune` result is saved unless `--no-save` says otherwise.
#[derive(Debug, Clone, Default, Args)]
pub struct SaveArgs {
    /// The history store: a SQLite file, or a postgres://USER@HOST/DB URL for a team's
    /// shared one [default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// Do not save the result in the history store.
    #[arg(long)]
    pub no_save: bool,

    /// A tag saved with the result, KEY=VALUE (repeatable), e.g. --tag branch=main.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

/// What `history` lists and charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryMetric {
    /// Requests per second (a capacity search: its maximum sustainable rate).
    Throughput,
    /// Median latency.
    P50,
    /// 90th percentile latency.
    P90,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Errors over requests.
    ErrorRate,
    /// The target's CPU milliseconds per request.
    CpuPerRequest,
    /// The target's peak resident memory.
    Rss,
}

/// The kinds of saved results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// `perfloop load`.
    Load,
    /// `perfloop capacity`.
    Capacity,
    /// `perfloop bench-cmd`.
    Bench,
    /// `perfloop tune`: a study's result.
    Study,
}

/// `perfloop history`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop history
  perfloop history --target http://127.0.0.1:8080/ --metric p99 --changes
  perfloop history --tag branch=main --since 7d --kind load --json")]
pub struct HistoryArgs {
    /// The history store [default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// Only runs of this target (the URL or command as saved).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    /// Only runs with this tag, KEY=VALUE (repeatable: all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,

    /// Only runs since then: a duration ago (7d, 12h) or a date (2026-01-31, RFC 3339).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Only results of this kind.
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<KindArg>,

    /// At most this many runs (the newest).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// The metric of the sparkline and of --changes.
    #[arg(long, value_enum, value_name = "METRIC", default_value = "throughput")]
    pub metric: HistoryMetric,

    /// Mark the runs after which the metric shifted (E-divisive means with a t-test, as
    /// Apache Otava does; runs of one target, oldest first).
    #[arg(long)]
    pub changes: bool,

    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `perfloop show`.
#[derive(Debug, Args)]
#[command(
    after_help = "RUN is a run id, 'latest', or 'tag:KEY=VALUE' (the newest run with that tag)."
)]
pub struct ShowArgs {
    /// The run: an id, 'latest' or 'tag:KEY=VALUE'.
    #[arg(value_name = "RUN")]
    pub run: String,

    /// The history store [default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// Print the record as JSON instead of the text report.
    #[arg(long, conflicts_with = "html")]
    pub json: bool,

    /// Write the HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
}

/// `perfloop diagnose`.
#[derive(Debug, Args)]
#[command(
    after_help = "RUN is a run id, 'latest', or 'tag:KEY=VALUE' (the newest run with that tag)."
)]
pub struct DiagnoseArgs {
    /// The run: an id, 'latest' or 'tag:KEY=VALUE'.
    #[arg(value_name = "RUN")]
    pub run: String,

    /// The history store [default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `perfloop compare`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop compare 12 latest
  perfloop compare tag:branch=main latest --json

A and B are run ids, 'latest', 'tag:KEY=VALUE' (the newest run with that tag) or 'last:N'
(the last N runs, with --tag filtering them, pooled). Method: a bootstrap over the runs'
per-second intervals (2,000 resamples; each second's latency histogram kept on a 1 % grid);
the interval is 95 % (99 % when either run has a warning). A change is significant when
its interval excludes zero and it is at least --threshold (--tail-threshold for p99 and
p99.9).")]
pub struct CompareArgs {
    /// The baseline.
    #[arg(value_name = "A")]
    pub a: String,

    /// The run compared with it.
    #[arg(value_name = "B")]
    pub b: String,

    /// The history store [default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db].
    #[arg(long, alias = "db", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// With last:N, only runs with this tag, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,

    /// The smallest change called significant (two runs on a shared machine differ by
    /// about this much from noise the seconds of one run cannot show).
    #[arg(long, value_name = "PERCENT", default_value = "2%")]
    pub threshold: String,

    /// The same for p99 and p99.9, whose run-to-run noise is larger.
    #[arg(long, value_name = "PERCENT", default_value = "5%")]
    pub tail_threshold: String,

    /// Compare runs of different targets anyway.
    #[arg(long)]
    pub force: bool,

    /// Print JSON (schema perfloop.compare.v1) instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `perfloop gate`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  perfloop gate --baseline tag:branch=main --metric p99 --max-regression 5% \\
      --tag branch=feature -- http://127.0.0.1:8080/ -c 32 -d 10s
  perfloop gate --baseline last:5 --tag branch=main --run latest --junit gate.xml

Exit codes: 0 pass, 1 a significant regression past the allowed one, 2 bad usage or a
baseline that does not exist, 3 the run itself failed. Each --metric takes the
--max-regression given after it (or the last one given; 5% when none is). Without --metric
the gate checks throughput and p99.")]
pub struct GateArgs {
    /// The baseline: a run id, 'latest', 'tag:KEY=VALUE', or 'last:N' (the last N runs with
    /// the --tag values, pooled).
    #[arg(long, value_name = "REF")]
    pub baseline: String,

    /// A metric the gate checks: throughput, p50, p90, p99, p999, error_rate (repeatable).
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<String>,

    /// How much worse the metric may get before the gate fails, e.g. 5% (repeatable, one per
    /// --metric).
    #[arg(long = "max-regression", value_name = "PERCENT")]
    pub max_regressions: Vec<String>,

    /// Take this saved run instead of measuring one.
    #[arg(long, value_name = "REF", conflicts_with = "load")]
    pub run: Option<String>,

    /// When the first verdict is a regression, measure once more and fail only if both
    /// agree.
    #[arg(long)]
    pub confirm: bool,

    /// Write a Markdown summary (for a CI step summary) to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<String>,

    /// Write the verdicts as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<String>,

    /// Write the comparison as JSON (schema perfloop.compare.v1) to FILE ('-': stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// The smallest change called significant.
    #[arg(long, value_name = "PERCENT", default_value = "2%")]
    pub threshold: String,

    /// The same for p99 and p99.9, whose run-to-run noise is larger.
    #[arg(long, value_name = "PERCENT", default_value = "5%")]
    pub tail_threshold: String,

    /// Compare with a baseline of another target anyway.
    #[arg(long)]
    pub force: bool,

    /// Where the new run is saved, and its tags (which also select the runs of last:N).
    #[command(flatten)]
    pub save: SaveArgs,

    /// After --: the URL and the flags of `perfloop load`.
    #[arg(last = true, value_name = "LOAD ARGS")]
    pub load: Vec<String>,
}
