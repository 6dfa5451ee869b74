//! `GET /api/live`: the live run as Server-Sent Events.
//!
//! A stream opens with `hello` (what the run is), replays every `sample`, `step`, `trial`
//! and `alert` so far, then carries the new ones as they come, and ends with `end`
//! (`{"run_id", "url"}`) once the run has ended; a client that connects after the end gets
//! all of it and `end` at once. A comment every 15 s keeps idle connections open. A client
//! that falls [`CHANNEL`](super::hub::CHANNEL) events behind is dropped (its stream ends,
//! and it may reconnect for a fresh replay): the run never waits for a client.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::hub::LiveEvent;
use crate::AppState;
use crate::api::ApiError;

/// How often an idle stream gets a comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Where a stream is.
struct Feed {
    replay: std::vec::IntoIter<LiveEvent>,
    live: Option<broadcast::Receiver<LiveEvent>>,
    done: bool,
}

impl Feed {
    async fn next(&mut self) -> Option<LiveEvent> {
        if self.done {
            return None;
        }
        let event = match self.replay.next() {
            Some(event) => event,
            None => match self.live.as_mut()?.recv().await {
                Ok(event) => event,
                // Fallen behind (its place lost) or the hub gone: the stream ends.
                Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
            },
        };
        self.done = event.is_end();
        Some(event)
    }
}

/// The handler: 404 when no run is live.
pub async fn live(State(state): State<AppState>) -> Response {
    let Some(hub) = state.live else {
        return ApiError::not_found(
            "no run is live here: the live stream is served by `perfloop load|capacity|tune \
             --serve` while the run goes",
        )
        .into_response();
    };
    let (replay, live) = hub.subscribe();
    let feed = Feed {
        replay: replay.into_iter(),
        live,
        done: false,
    };
    let events = stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        let sse = Event::default().event(event.name).data(&*event.data);
        Some((Ok::<Event, Infallible>(sse), feed))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}
