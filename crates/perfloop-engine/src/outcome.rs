//! What a run produced: merged histograms, counts, the per-second timeline and the
//! generator's own resource use. Plain data; the report crate turns it into a run record.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Why a request failed. Every failed attempt has exactly one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP connection could not be established.
    Connect,
    /// The TLS handshake failed, or TLS broke on an established connection (an alert, a
    /// record that does not decrypt).
    Tls,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection was reset (RST, broken pipe).
    Reset,
    /// The server closed the connection before the response was complete.
    Closed,
    /// The bytes received were not a valid HTTP/1.x response.
    Malformed,
    /// The response's header block exceeded the cap.
    HeadersTooLarge,
    /// The response broke its own framing: more bytes than its Content-Length announced.
    Framing,
    /// HTTP/2: the server's GOAWAY left the request's stream out (it was never processed).
    GoAway,
    /// HTTP/2: the server reset the request's stream (RST_STREAM).
    StreamReset,
    /// A response with a 4xx status.
    Status4xx,
    /// A response with a 5xx status.
    Status5xx,
}

impl ErrorKind {
    /// All kinds, in report order.
    pub const ALL: [ErrorKind; ErrorKind::COUNT] = [
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Closed,
        ErrorKind::Malformed,
        ErrorKind::HeadersTooLarge,
        ErrorKind::Framing,
        ErrorKind::GoAway,
        ErrorKind::StreamReset,
        ErrorKind::Status4xx,
        ErrorKind::Status5xx,
    ];

    /// How many kinds there are.
    pub const COUNT: usize = 12;

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Closed => "closed",
            ErrorKind::Malformed => "malformed",
            ErrorKind::HeadersTooLarge => "headers_too_large",
            ErrorKind::Framing => "framing",
            ErrorKind::GoAway => "goaway",
            ErrorKind::StreamReset => "stream_reset",
            ErrorKind::Status4xx => "status_4xx",
            ErrorKind::Status5xx => "status_5xx",
        }
    }

    /// The kind of a response with `status`, if that status is an error.
    pub fn of_status(status: u16) -> Option<ErrorKind> {
        match status {
            400..=499 => Some(ErrorKind::Status4xx),
            500.. => Some(ErrorKind::Status5xx),
            _ => None,
        }
    }

    /// The kind's place in the `by_kind` counts.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Request accounting. `total() = ok + errors`; `dropped` and `unfinished` are separate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Responses with a status below 400.
    pub ok: u64,
    /// Failed attempts and error responses (status ≥ 400).
    pub errors: u64,
    /// Open model: arrivals that could not be sent before the end of the run.
    pub dropped: u64,
    /// Requests in flight when the run stopped without draining (closed model, Ctrl-C).
    pub unfinished: u64,
    /// Requests sent (or attempted) whose start lies in the measured window.
    pub sent: u64,
    /// Open model: counted requests that completed after the window, while it drained
    /// (in the totals and the latency, not in the timeline).
    pub drained: u64,
    /// Connections established in the measured window (and its drain).
    pub connections: u64,
    /// Requests sent again on a new connection because the server had closed the reused
    /// one before answering (idempotent methods only; not errors, not extra requests).
    pub reconnects: u64,
    /// Responses by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Errors by kind, indexed like [`ErrorKind::ALL`].
    pub by_kind: [u64; ErrorKind::COUNT],
    /// Body bytes received in responses.
    pub body_bytes: u64,
}

impl Counts {
    /// Responses and failed attempts.
    pub fn total(&self) -> u64 {
        self.ok + self.errors
    }

    /// Errors of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.by_kind[kind.index()]
    }

    pub(crate) fn merge(&mut self, other: &Counts) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.dropped += other.dropped;
        self.unfinished += other.unfinished;
        self.sent += other.sent;
        self.drained += other.drained;
        self.connections += other.connections;
        self.reconnects += other.reconnects;
        self.body_bytes += other.body_bytes;
        for (status, n) in &other.by_status {
            *self.by_status.entry(*status).or_default() += n;
        }
        for (mine, theirs) in self.by_kind.iter_mut().zip(other.by_kind) {
            *mine += theirs;
        }
    }
}

/// One second of the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// Start of the second, in seconds since the measured window opened.
    pub t_s: u64,
    /// Length of this row in seconds (1 except for a last, partial second).
    pub length_s: f64,
    /// Requests completed (responses and failed attempts) in this second.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// `requests / length_s`.
    pub rps: f64,
    /// Latency percentiles of the responses completed in this second, in milliseconds;
    /// `None` when no response completed in it.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Maximum.
    pub max_ms: Option<f64>,
    /// The latencies of the responses completed in this second on the fixed grid of
    /// [`perfloop_stats::grid`] (`(bucket, count)`, ascending, non-empty buckets only):
    /// histograms of different seconds and runs merge bucket by bucket.
    pub latency_buckets: Vec<(u32, u64)>,
    /// Per endpoint, in [`Outcome::endpoints`]' order, when the run has two or more;
    /// empty otherwise (the row is the one endpoint's).
    pub endpoints: Vec<EndpointSecond>,
}

/// What a live display shows of a finished second beside its [`TimelineRow`]; handed to
/// [`Observer::second_detail`](crate::Observer::second_detail) as the run goes, not kept in
/// the outcome. Each worker takes these figures once per second, when it hands over the
/// second: nothing is added on the request path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecondDetail {
    /// Responses by HTTP status counted while this second was current, ascending (raw TCP
    /// responses have no status and are not here).
    pub statuses: Vec<(u16, u64)>,
    /// Mean requests in flight over the second: the time in flight inside the window of
    /// the requests that ended while it was current, over one second (a request is charged
    /// to the second it ends in, so one second's figure can lag; their mean is exact).
    pub in_flight: f64,
    /// The sum of the latencies of this second's responses (those of its histogram), in
    /// seconds: measured, so a mean or a Prometheus `_sum` needs no estimate.
    pub latency_sum_s: f64,
    /// The busiest worker thread's CPU time over its wall time since its previous second,
    /// 0 to 1 (from [`SATURATION_BUSY`] on, the generator is saturated).
    pub busiest_worker: f64,
}

/// One endpoint's share of one second of the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSecond {
    /// Its requests completed in this second (responses and failed attempts).
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Median latency of its responses in this second, ms; `None` without a response.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

/// One endpoint's figures over the run: the same accounting as the totals (`ok + errors`
/// counted requests, latency of the responses), and the time spent waiting on it.
#[derive(Debug, Clone)]
pub struct EndpointOutcome {
    /// Its name ([`LoadConfig::endpoint_names`](crate::LoadConfig::endpoint_names)).
    pub name: String,
    /// Latency of its responses, in microseconds.
    pub latency: Histogram<u64>,
    /// Its responses with a status below 400.
    pub ok: u64,
    /// Its failed attempts and error responses.
    pub errors: u64,
    /// Its errors by kind, indexed like [`ErrorKind::ALL`].
    pub by_kind: [u64; ErrorKind::COUNT],
    /// The time spent waiting on it: the sum of its counted requests' latencies
    /// (responses and failed attempts).
    pub waited: Duration,
}

impl EndpointOutcome {
    /// Responses and failed attempts.
    pub fn total(&self) -> u64 {
        self.ok + self.errors
    }

    /// Errors of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.by_kind[kind.index()]
    }
}

/// Where a request's time goes before its response, in microseconds, each histogram over
/// what it applies to. With keep-alive most requests open no connection: connect and
/// handshake then describe the connections, not the requests.
#[derive(Debug, Clone)]
pub struct Phases {
    /// TCP connect, from the connect call to the connection being up: one value per
    /// connection established in the measured window (and its drain).
    pub connect: Histogram<u64>,
    /// TLS handshake, from the connection being up to the handshake complete (the
    /// client's own cryptography included): one per TLS connection established in the
    /// window; empty for plain TCP.
    pub handshake: Histogram<u64>,
    /// Time to first byte, from the request's first byte written to the first byte of its
    /// response read: one per counted response.
    pub ttfb: Histogram<u64>,
}

impl Default for Phases {
    fn default() -> Phases {
        Phases {
            connect: crate::recorder::histogram(),
            handshake: crate::recorder::histogram(),
            ttfb: crate::recorder::histogram(),
        }
    }
}

impl Phases {
    pub(crate) fn merge(&mut self, other: &Phases) {
        // Same bounds everywhere: adding cannot fail.
        let _ = self.connect.add(&other.connect);
        let _ = self.handshake.add(&other.handshake);
        let _ = self.ttfb.add(&other.ttfb);
    }
}

/// How busy the load generator itself was.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorUsage {
    /// User CPU seconds of the whole perfloop process during the run.
    pub cpu_user_s: f64,
    /// System CPU seconds of the whole perfloop process during the run.
    pub cpu_sys_s: f64,
    /// Per worker thread: its CPU time divided by its wall time.
    pub threads_busy: Vec<f64>,
    /// Whether a worker thread was busy at least [`SATURATION_BUSY`] of the run.
    pub saturated: bool,
}

/// The busy fraction from which a worker thread counts as saturated.
pub const SATURATION_BUSY: f64 = 0.9;

/// The I/O backend that drove a run's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The epoll event loop (`mio`).
    Epoll,
    /// io_uring: batched submissions and completions.
    Uring,
}

impl Backend {
    /// `"epoll"` or `"uring"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Uring => "uring",
        }
    }
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The duration, the stages or the request count was reached.
    Completed,
    /// Stopped from outside (Ctrl-C) before the end.
    Interrupted,
    /// No connection could ever be established.
    Unreachable,
}

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Latency of every response in the measured window, in microseconds. In the open
    /// model it is measured from the intended send time.
    pub latency: Histogram<u64>,
    /// Open model: how late the worker noticed each arrival, in microseconds.
    pub lag: Option<Histogram<u64>>,
    /// Request accounting.
    pub counts: Counts,
    /// One row per second of the measured window (the open model's drain is not in it).
    pub timeline: Vec<TimelineRow>,
    /// From the start of the measured window to the end of the run, including the open
    /// model's drain.
    pub measured: Duration,
    /// Length of the measured window: the denominator of throughput and achieved rate.
    pub window: Duration,
    /// The generator's own resource use.
    pub generator: GeneratorUsage,
    /// Why the run ended.
    pub ending: Ending,
    /// The most connections open at once, over all workers.
    pub peak_connections: usize,
    /// Mean requests in flight over the measured window, exact: every request's time in
    /// flight inside the window (from its start, the intended time in the open model, to its
    /// end), summed and divided by the window. Little's law makes it throughput × mean
    /// latency in a steady run.
    pub in_flight_mean: f64,
    /// Ages of the requests still in flight when the run stopped (`counts.unfinished`), in
    /// microseconds: they can only change a percentile they are slower than.
    pub unfinished_age: Histogram<u64>,
    /// Open model: how long the target took to answer the window's arrivals — the span of
    /// their completion times without the first and last 1 %, scaled to all of them. Longer
    /// than the window when the target could not keep up; zero for the closed model.
    pub answering: Duration,
    /// The last connection error seen, for messages.
    pub last_connect_error: Option<String>,
    /// Connect, TLS handshake and time to first byte.
    pub phases: Phases,
    /// What the TLS handshake before the run agreed on; `None` for plain TCP.
    pub tls: Option<crate::tls::Negotiated>,
    /// Per endpoint, in the order of
    /// [`LoadConfig::endpoint_names`](crate::LoadConfig::endpoint_names); a plain run has
    /// one, its figures the totals. Failed connects charged to open-model arrivals before a
    /// request was chosen for them are in the totals only.
    pub endpoints: Vec<EndpointOutcome>,
    /// The time spent waiting on the target: the sum of every counted request's latency.
    pub waited: Duration,
    /// The I/O backend that ran (what `--io auto` chose).
    pub backend: Backend,
}

impl Outcome {
    /// Throughput: the counted requests (responses and failed attempts) per second of the
    /// measured window. The closed model counts what completed inside the window; the open
    /// model the outcomes of the arrivals the window sent (see the recorder), per second of
    /// the window or of the time the target took to answer them ([`Outcome::answering`]),
    /// whichever is longer, so a target that cannot keep up is not credited with the rate it
    /// was asked for. A steady run's throughput is the same whatever its latency.
    pub fn throughput_rps(&self) -> f64 {
        // The completion times are kept to 3 significant digits: a span within that of the
        // window is the window.
        let answering = if self.answering > self.window.mul_f64(1.0 + ANSWERING_PRECISION) {
            self.answering
        } else {
            self.window
        };
        per_second(self.counts.total(), answering)
    }

    /// Open model: requests sent per second over the schedule's window.
    pub fn achieved_rate(&self) -> f64 {
        per_second(self.counts.sent, self.window)
    }

    /// An endpoint's throughput: its counted requests per second of the same span as
    /// [`Outcome::throughput_rps`], so the endpoints' throughputs add up to the total.
    pub fn endpoint_rps(&self, endpoint: &EndpointOutcome) -> f64 {
        let total = self.counts.total();
        if total == 0 {
            return 0.0;
        }
        self.throughput_rps() * endpoint.total() as f64 / total as f64
    }

    /// An endpoint's share (0 to 1) of the time spent waiting on the target.
    /// The shares of the run's endpoints add up to 1.
    pub fn endpoint_share(&self, endpoint: &EndpointOutcome) -> f64 {
        let all: f64 = self.endpoints.iter().map(|e| e.waited.as_secs_f64()).sum();
        if all > 0.0 {
            endpoint.waited.as_secs_f64() / all
        } else {
            0.0
        }
    }
}

/// The relative precision of [`Outcome::answering`] (its histogram's 3 significant digits,
/// with room for the 1 % trimmed at each end).
const ANSWERING_PRECISION: f64 = 0.005;

fn per_second(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}
