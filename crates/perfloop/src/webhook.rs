//! Alert webhooks: each alert event POSTed as JSON to a URL, off the measuring path.
//!
//! [`Webhook::send`] never blocks: it puts the event on a bounded queue (an event that
//! finds the queue full is dropped and counted). One background thread takes the events in
//! order and POSTs each (`Content-Type: application/json`), with a per-request timeout;
//! a transport error, a timeout, a 5xx, 408 or 429 is tried again after an exponential
//! back-off (0.5 s, 1 s, 2 s, 4 s: five attempts in all), any other status of 400 or more
//! fails at once. [`Webhook::finish`] stops taking events and waits, at most until its
//! deadline, for the queue to drain; retries stop at that deadline too, and what was not
//! delivered by then counts as failed. TLS goes through rustls with the `ring` provider
//! and the Mozilla root certificates (`webpki-roots`).
//!
//! This file uses no other module of the binary, so that its test can include it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use perfloop_url::{Scheme, TargetUrl, UrlError};

/// How a webhook queues, times out and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Events waiting to be sent at most; one more is dropped.
    pub queue: usize,
    /// Attempts per event, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles it.
    pub first_backoff: Duration,
    /// The longest one request may take (connect, send, response).
    pub timeout: Duration,
}

impl Default for WebhookOptions {
    fn default() -> WebhookOptions {
        WebhookOptions {
            queue: 1024,
            attempts: 5,
            first_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
        }
    }
}

/// What became of the events given to [`Webhook::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookSummary {
    /// Delivered (a 2xx or 3xx answer).
    pub sent: u64,
    /// Queued but not delivered: refused, out of attempts, or still waiting at the deadline.
    pub failed: u64,
    /// Never queued: the queue was full (or the sending thread had stopped).
    pub dropped: u64,
}

/// A webhook URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// Not a URL requests can be sent to.
    Url(UrlError),
    /// A URL of another scheme than `http` or `https`.
    Scheme {
        /// The URL, secrets redacted.
        url: String,
    },
    /// The background thread could not be started.
    Thread(String),
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::Url(e) => write!(f, "webhook: {e}"),
            WebhookError::Scheme { url } => write!(
                f,
                "webhook: invalid URL '{url}': expected an http:// or https:// URL"
            ),
            WebhookError::Thread(e) => write!(f, "webhook: cannot start its thread: {e}"),
        }
    }
}

impl std::error::Error for WebhookError {}

/// The counters the sending thread and [`Webhook::finish`] share.
#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
}

/// When the sending thread must give up: unset while the run goes on.
#[derive(Debug, Default)]
struct Deadline {
    at: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Deadline {
    fn get(&self) -> Option<Instant> {
        *self.at.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, at: Instant) {
        *self.at.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
        self.changed.notify_all();
    }

    fn passed(&self) -> bool {
        self.get().is_some_and(|at| Instant::now() >= at)
    }

    /// Sleeps `wait`, or until the deadline if it comes first; false if the deadline came.
    fn sleep(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        let mut at = self.at.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            if at.is_some_and(|d| now >= d) {
                return false;
            }
            if now >= until {
                return true;
            }
            let end = at.map_or(until, |d| d.min(until));
            at = self
                .changed
                .wait_timeout(at, end - now)
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
    }
}

/// A webhook: events in with [`Webhook::send`], POSTed by a thread of its own.
#[derive(Debug)]
pub struct Webhook {
    queue: SyncSender<serde_json::Value>,
    counters: Arc<Counters>,
    deadline: Arc<Deadline>,
    done: Receiver<()>,
}

impl Webhook {
    /// Checks `url` (`http` or `https`) and starts the sending thread with the defaults.
    pub fn start(url: &str) -> Result<Webhook, WebhookError> {
        Webhook::start_with(url, WebhookOptions::default())
    }

    /// [`Webhook::start`] with other queue, retry and timeout settings.
    pub fn start_with(url: &str, options: WebhookOptions) -> Result<Webhook, WebhookError> {
        let target = TargetUrl::parse(url).map_err(WebhookError::Url)?;
        if !matches!(target.scheme(), Scheme::Http | Scheme::Https) {
            return Err(WebhookError::Scheme {
                url: target.to_string(),
            });
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("perfloop/", env!("CARGO_PKG_VERSION")))
            .max_redirects(0)
            .build()
            .into();
        let (queue, events) = mpsc::sync_channel(options.queue.max(1));
        let (finished, done) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let deadline = Arc::new(Deadline::default());
        let sender = Sender {
            agent,
            url: url.to_string(),
            options,
            counters: Arc::clone(&counters),
            deadline: Arc::clone(&deadline),
        };
        thread::Builder::new()
            .name("perfloop-webhook".to_string())
            .spawn(move || {
                sender.run(&events);
                let _ = finished.send(());
            })
            .map_err(|e| WebhookError::Thread(e.to_string()))?;
        Ok(Webhook {
            queue,
            counters,
            deadline,
            done,
        })
    }

    /// Queues `event` to be POSTed; returns at once. A full queue drops it (counted).
    pub fn send(&self, event: serde_json::Value) {
        match self.queue.try_send(event) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stops taking events and waits for the queued ones to be delivered, at most
    /// `deadline` from now (retries stop then too); what is left counts as failed.
    pub fn finish(self, deadline: Duration) -> WebhookSummary {
        let Webhook {
            queue,
            counters,
            deadline: shared,
            done,
        } = self;
        let end = Instant::now() + deadline;
        shared.set(end);
        // Closing the queue ends the thread's loop once the queue is empty.
        drop(queue);
        // Ended, or out of time: either way the counts are what they are now.
        let _ = done.recv_timeout(end.saturating_duration_since(Instant::now()));
        let sent = counters.sent.load(Ordering::Relaxed);
        let queued = counters.queued.load(Ordering::Relaxed);
        WebhookSummary {
            sent,
            // Everything queued and not delivered: refused, given up, or still waiting.
            failed: queued.saturating_sub(sent),
            dropped: counters.dropped.load(Ordering::Relaxed),
        }
    }
}

/// What the sending thread owns.
struct Sender {
    agent: ureq::Agent,
    url: String,
    options: WebhookOptions,
    counters: Arc<Counters>,
    deadline: Arc<Deadline>,
}

/// How one attempt ended.
enum Attempt {
    Delivered,
    /// Worth another try (transport error, timeout, 5xx, 408, 429).
    Retry,
    /// Refused for good (another 4xx).
    Refused,
}

impl Sender {
    fn run(&self, events: &Receiver<serde_json::Value>) {
        while let Ok(event) = events.recv() {
            if self.deadline.passed() {
                // Out of time: what is left is failed, counted by `finish`.
                break;
            }
            let body = event.to_string();
            if self.deliver(body.as_bytes()) {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// POSTs `body` until delivered, refused, out of attempts or out of time.
    fn deliver(&self, body: &[u8]) -> bool {
        let mut backoff = self.options.first_backoff;
        for attempt in 1..=self.options.attempts.max(1) {
            let timeout = match self.deadline.get() {
                Some(at) => self
                    .options
                    .timeout
                    .min(at.saturating_duration_since(Instant::now())),
                None => self.options.timeout,
            };
            if timeout.is_zero() {
                return false;
            }
            match self.attempt(body, timeout) {
                Attempt::Delivered => return true,
                Attempt::Refused => return false,
                Attempt::Retry if attempt == self.options.attempts => return false,
                Attempt::Retry => {
                    if !self.deadline.sleep(backoff) {
                        return false;
                    }
                    backoff = backoff.saturating_mul(2);
                }
            }
        }
        false
    }

    fn attempt(&self, body: &[u8], timeout: Duration) -> Attempt {
        let response = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "application/json")
            .send(body);
        match response {
            Ok(r) => match r.status().as_u16() {
                s if s < 400 => Attempt::Delivered,
                408 | 429 => Attempt::Retry,
                s if s >= 500 => Attempt::Retry,
                _ => Attempt::Refused,
            },
            Err(_) => Attempt::Retry,
        }
    }
}
