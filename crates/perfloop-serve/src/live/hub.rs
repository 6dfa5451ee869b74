//! The live run's hub: what the run has reported so far, and the broadcast that carries
//! each new report to every open event stream.
//!
//! The run's observer thread calls [`LiveHub::sample`] once per second (and `step`,
//! `trial`, `alert`, `end` now and then); none of them ever waits for a client. The state is
//! behind one `Mutex` held for a push and a `broadcast::send` (which never blocks: a
//! client that falls [`CHANNEL`] events behind loses its place and its stream is closed).
//! A client subscribes under the same lock, so its replay and the live events that follow
//! neither overlap nor leave a gap.
//!
//! Memory stays flat however long the run: at most [`MAX_SAMPLES`] samples are kept (four
//! minutes of seconds); when there are more, the older half is merged pairwise
//! ([`LiveSample::merged`]: counts summed, histograms merged bucket by bucket), so older
//! stretches of a long run are kept at a coarser grain and whole-run percentiles stay exact.
//! The run's full timeline is the engine's, kept once: the hub never holds it twice. A
//! sample's JSON is written once when it is broadcast, and again only for a client that
//! connects later (outside the lock). The totals `/metrics` reports are kept apart, summed
//! from every sample as it came, so thinning never changes them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use perfloop_stats::grid;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::host;
use super::sample::{LiveInfo, LiveSample};

/// Samples kept; beyond this the older half is merged pairwise.
pub const MAX_SAMPLES: usize = 240;

/// Events a stream may fall behind before it is dropped.
pub const CHANNEL: usize = 512;

/// Alert events kept for a late client (the oldest are forgotten beyond this).
const MAX_ALERTS: usize = 1000;

/// One event of the stream, its JSON written once for every client.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// `hello`, `sample`, `step`, `trial`, `alert` or `end`.
    pub name: &'static str,
    /// The event's JSON.
    pub data: Arc<str>,
}

impl LiveEvent {
    fn new(name: &'static str, value: &impl Serialize) -> LiveEvent {
        let data = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        LiveEvent {
            name,
            data: data.into(),
        }
    }

    /// Whether this is the last event of the stream.
    #[must_use]
    pub fn is_end(&self) -> bool {
        self.name == "end"
    }
}

/// What the run has reported so far, as one value.
#[derive(Debug, Clone, Serialize)]
pub struct LiveSnapshot {
    /// What the run is.
    pub info: LiveInfo,
    /// The samples, oldest first (the older ones merged when there were many).
    pub samples: Vec<LiveSample>,
    /// Capacity steps, as in the capacity record's `steps[]`.
    pub steps: Vec<Value>,
    /// Study trials, as the study record's trial rows.
    pub trials: Vec<Value>,
    /// Alert events, oldest first.
    pub alerts: Vec<Value>,
    /// The alerts firing now: each rule's last `firing` event.
    pub firing: Vec<Value>,
    /// `None` while the run goes; `Some(run id)` once it ended (`Some(None)`: not saved).
    pub ended: Option<Option<i64>>,
}

/// Everything counted since the run began, for `/metrics`: exact whatever the thinning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveTotals {
    /// Requests (responses and failed attempts).
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Responses by HTTP status, for the seconds that said.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests of seconds without statuses, or beyond them (failed attempts, raw TCP), that
    /// succeeded.
    pub other_ok: u64,
    /// The same that failed (no response, or an error without a status).
    pub other_errors: u64,
    /// Every response's latency on the grid.
    pub latency_buckets: Vec<(u32, u64)>,
    /// Seconds of samples.
    pub seconds: f64,
    /// perfloop's CPU seconds over the samples that measured it.
    pub generator_cpu_s: f64,
    /// The target's CPU seconds over the samples that measured it; `None` before any.
    pub target_cpu_s: Option<f64>,
    /// The sum of every response's latency, seconds (measured per second by the engine).
    pub latency_sum_s: f64,
    /// A second with responses came without its sum: `latency_sum_s` is not the whole.
    pub latency_sum_partial: bool,
    /// The latest sample.
    pub latest: Option<LiveSample>,
}

impl LiveTotals {
    fn add(&mut self, s: &LiveSample) {
        let second = &s.second;
        self.requests += second.requests;
        self.errors += second.errors;
        let by_status: u64 = s.statuses.iter().flatten().map(|(_, n)| n).sum();
        for (code, n) in s.statuses.iter().flatten() {
            *self.statuses.entry(*code).or_default() += n;
        }
        let rest = second.requests.saturating_sub(by_status);
        let rest_errors = second.errors.saturating_sub(s.status_errors()).min(rest);
        self.other_errors += rest_errors;
        self.other_ok += rest - rest_errors;
        grid::merge(&mut self.latency_buckets, &second.latency_buckets);
        match s.latency_sum_ms {
            Some(ms) => self.latency_sum_s += ms / 1000.0,
            None => self.latency_sum_partial |= !second.latency_buckets.is_empty(),
        }
        self.seconds += second.length_s;
        if let Some(cores) = s.generator_cpu {
            self.generator_cpu_s += cores * second.length_s;
        }
        if let Some(cores) = s.target_cpu {
            *self.target_cpu_s.get_or_insert(0.0) += cores * second.length_s;
        }
        self.latest = Some(s.clone());
    }
}

/// The mutable part.
#[derive(Debug)]
struct State {
    samples: Vec<LiveSample>,
    /// Each with its event, written once.
    steps: Vec<(Value, LiveEvent)>,
    trials: Vec<(Value, LiveEvent)>,
    alerts: Vec<(Value, LiveEvent)>,
    firing: BTreeMap<String, Value>,
    ended: Option<Option<i64>>,
    totals: LiveTotals,
    target_pid: Option<u32>,
}

/// The run going on, shared by the run's observer (writer) and the server (readers).
#[derive(Debug)]
pub struct LiveHub {
    info: LiveInfo,
    began: Instant,
    state: Mutex<State>,
    tx: broadcast::Sender<LiveEvent>,
}

impl LiveHub {
    /// A hub for the run `info` describes.
    #[must_use]
    pub fn new(info: LiveInfo) -> Arc<LiveHub> {
        let (tx, _) = broadcast::channel(CHANNEL);
        Arc::new(LiveHub {
            info,
            began: Instant::now(),
            state: Mutex::new(State {
                samples: Vec::new(),
                steps: Vec::new(),
                trials: Vec::new(),
                alerts: Vec::new(),
                firing: BTreeMap::new(),
                ended: None,
                totals: LiveTotals::default(),
                target_pid: None,
            }),
            tx,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `event` to every stream; a stream without room loses its place (never waited
    /// for). Called with the state locked.
    fn publish(&self, event: LiveEvent) {
        // An error only means that nobody listens.
        let _ = self.tx.send(event);
    }

    /// A second of the run. Ignored once the run ended.
    pub fn sample(&self, sample: LiveSample) {
        let mut state = self.lock();
        if state.ended.is_some() {
            return;
        }
        state.totals.add(&sample);
        let event = LiveEvent::new("sample", &sample);
        state.samples.push(sample);
        if state.samples.len() > MAX_SAMPLES {
            thin(&mut state.samples);
        }
        self.publish(event);
    }

    /// A finished capacity step (the capacity record's `steps[]` element).
    pub fn step(&self, step: Value) {
        let mut state = self.lock();
        let event = LiveEvent::new("step", &step);
        state.steps.push((step, event.clone()));
        self.publish(event);
    }

    /// A finished study trial (the study record's trial row).
    pub fn trial(&self, trial: Value) {
        let mut state = self.lock();
        let event = LiveEvent::new("trial", &trial);
        state.trials.push((trial, event.clone()));
        self.publish(event);
    }

    /// An alert event, `{"rule", "state": "firing"|"resolved", …}`: a `firing` one stays
    /// among the firing alerts until a `resolved` one of the same rule.
    pub fn alert(&self, event: Value) {
        let mut state = self.lock();
        if let Some(rule) = event.get("rule").and_then(Value::as_str) {
            match event.get("state").and_then(Value::as_str) {
                Some("firing") => {
                    state.firing.insert(rule.to_owned(), event.clone());
                }
                Some("resolved") => {
                    state.firing.remove(rule);
                }
                _ => {}
            }
        }
        let message = LiveEvent::new("alert", &event);
        state.alerts.push((event, message.clone()));
        if state.alerts.len() > MAX_ALERTS {
            let extra = state.alerts.len() - MAX_ALERTS;
            state.alerts.drain(..extra);
        }
        self.publish(message);
    }

    /// The run ended, saved as `run_id` (`None`: not saved). Only the first call counts;
    /// every stream gets `end` and closes.
    pub fn end(&self, run_id: Option<i64>) {
        let mut state = self.lock();
        if state.ended.is_some() {
            return;
        }
        state.ended = Some(run_id);
        self.publish(end_event(run_id));
    }

    /// The process the target runs as, when known (for its health: up, memory limit).
    pub fn set_target_pid(&self, pid: Option<u32>) {
        self.lock().target_pid = pid;
    }

    /// What the run is.
    #[must_use]
    pub fn info(&self) -> LiveInfo {
        self.info.clone()
    }

    /// `None` while the run goes; `Some(run id)` once it ended.
    #[must_use]
    pub fn ended(&self) -> Option<Option<i64>> {
        self.lock().ended
    }

    /// Seconds since the hub was made.
    #[must_use]
    pub fn elapsed_s(&self) -> f64 {
        self.began.elapsed().as_secs_f64()
    }

    /// The `t_s` a sample following the last one starts at (0 for the first).
    #[must_use]
    pub fn next_t_s(&self) -> u64 {
        let state = self.lock();
        state.samples.last().map_or(0, |s| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let length = s.second.length_s.ceil().max(1.0) as u64;
            s.second.t_s + length
        })
    }

    /// Everything reported so far.
    #[must_use]
    pub fn snapshot(&self) -> LiveSnapshot {
        let state = self.lock();
        LiveSnapshot {
            info: self.info.clone(),
            samples: state.samples.clone(),
            steps: state.steps.iter().map(|(v, _)| v.clone()).collect(),
            trials: state.trials.iter().map(|(v, _)| v.clone()).collect(),
            alerts: state.alerts.iter().map(|(v, _)| v.clone()).collect(),
            firing: state.firing.values().cloned().collect(),
            ended: state.ended,
        }
    }

    /// The last `limit` samples, oldest first.
    #[must_use]
    pub fn recent(&self, limit: usize) -> Vec<LiveSample> {
        let state = self.lock();
        let from = state.samples.len().saturating_sub(limit);
        state.samples[from..].to_vec()
    }

    /// The totals since the run began.
    #[must_use]
    pub fn totals(&self) -> LiveTotals {
        self.lock().totals.clone()
    }

    /// The alerts firing now.
    #[must_use]
    pub fn firing(&self) -> Vec<Value> {
        self.lock().firing.values().cloned().collect()
    }

    /// The events a new stream starts with (`hello`, every sample, step, trial and alert
    /// so far, and `end` when the run has ended), and the receiver of the events that
    /// follow (`None` once the run ended: nothing follows).
    #[must_use]
    pub fn subscribe(&self) -> (Vec<LiveEvent>, Option<broadcast::Receiver<LiveEvent>>) {
        // Under the lock, only what the replay needs is copied and the receiver taken, so
        // that nothing is missed or sent twice; the samples are written out after it.
        let (samples, rest, receiver) = {
            let state = self.lock();
            let mut rest: Vec<LiveEvent> = [&state.steps, &state.trials, &state.alerts]
                .into_iter()
                .flat_map(|list| list.iter().map(|(_, e)| e.clone()))
                .collect();
            let receiver = match state.ended {
                Some(run_id) => {
                    rest.push(end_event(run_id));
                    None
                }
                None => Some(self.tx.subscribe()),
            };
            (state.samples.clone(), rest, receiver)
        };
        let mut replay = Vec::with_capacity(1 + samples.len() + rest.len());
        replay.push(LiveEvent::new("hello", &self.info));
        replay.extend(samples.iter().map(|s| LiveEvent::new("sample", s)));
        replay.extend(rest);
        (replay, receiver)
    }

    /// Open event streams.
    #[must_use]
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    /// What `/api/system_health` shows while the run goes: the target (up or down, CPU,
    /// resident memory against its limit: its cgroup's `memory.max` when set, else the
    /// host's memory), the host (load, memory) and the alerts firing now.
    #[must_use]
    pub fn health(&self) -> Value {
        let (latest, pid, firing, ended) = {
            let state = self.lock();
            (
                state.totals.latest.clone(),
                state.target_pid,
                state.firing.values().cloned().collect::<Vec<_>>(),
                state.ended,
            )
        };
        let host = host::read();
        let host_total = host.mem_total_bytes;
        let limit = pid
            .and_then(host::cgroup_memory_max)
            .map(|b| (b, "cgroup"))
            .or_else(|| host_total.map(|b| (b, "host")));
        let rss = latest.as_ref().and_then(|s| s.target_rss_bytes);
        let (up, basis) = match pid {
            Some(pid) => (Some(host::pid_alive(pid)), "process"),
            None => (
                latest
                    .as_ref()
                    .filter(|s| s.second.requests > 0)
                    .map(|s| s.second.requests > s.second.errors),
                "responses",
            ),
        };
        #[allow(clippy::cast_precision_loss)]
        let rss_pct = match (rss, limit) {
            (Some(rss), Some((limit, _))) if limit > 0 => Some(rss as f64 * 100.0 / limit as f64),
            _ => None,
        };
        json!({
            "live": true,
            "kind": self.info.kind,
            "ended": ended.is_some(),
            "run_id": ended.flatten(),
            "elapsed_s": self.elapsed_s(),
            "status": if firing.is_empty() && up != Some(false) { "ok" } else { "degraded" },
            "target": {
                "name": self.info.target,
                "pid": pid,
                "up": up,
                "up_from": basis,
                "cpu_cores": latest.as_ref().and_then(|s| s.target_cpu),
                "rss_bytes": rss,
                "memory_limit_bytes": limit.map(|(b, _)| b),
                "memory_limit_from": limit.map(|(_, from)| from),
                "rss_pct_of_limit": rss_pct,
            },
            "generator": {
                "cpu_cores": latest.as_ref().and_then(|s| s.generator_cpu),
                "saturated": latest.as_ref().and_then(|s| s.saturated),
            },
            "host": host.to_json(),
            "alerts": firing,
        })
    }
}

fn end_event(run_id: Option<i64>) -> LiveEvent {
    LiveEvent::new(
        "end",
        &json!({"run_id": run_id, "url": run_id.map(|id| format!("/runs/{id}"))}),
    )
}

/// Merges the older half of `samples` pairwise, neighbours with neighbours.
fn thin(samples: &mut Vec<LiveSample>) {
    let half = (samples.len() / 2) & !1;
    let mut thinned: Vec<LiveSample> = Vec::with_capacity(samples.len() - half / 2);
    for pair in samples[..half].chunks(2) {
        match pair {
            [a, b] => thinned.push(a.merged(b)),
            [a] => thinned.push(a.clone()),
            _ => {}
        }
    }
    thinned.extend_from_slice(&samples[half..]);
    *samples = thinned;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn info() -> LiveInfo {
        LiveInfo {
            kind: "load".into(),
            target: "http://127.0.0.1:1/".into(),
            command: "perfloop load".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            window_s: None,
        }
    }

    #[test]
    fn alerts_fire_until_resolved() {
        let hub = LiveHub::new(info());
        hub.alert(json!({"rule": "p99 > 1ms", "state": "firing"}));
        hub.alert(json!({"rule": "rss > 1%", "state": "firing"}));
        hub.alert(json!({"rule": "p99 > 1ms", "state": "resolved"}));
        let firing = hub.firing();
        assert_eq!(firing.len(), 1);
        assert_eq!(firing[0]["rule"], "rss > 1%");
        assert_eq!(hub.snapshot().alerts.len(), 3);
    }

    #[test]
    fn a_second_end_changes_nothing() {
        let hub = LiveHub::new(info());
        hub.end(Some(4));
        hub.end(None);
        assert_eq!(hub.ended(), Some(Some(4)));
        let (replay, rx) = hub.subscribe();
        assert!(rx.is_none());
        assert!(replay.last().unwrap().is_end());
        assert!(replay.last().unwrap().data.contains("\"/runs/4\""));
    }
}
