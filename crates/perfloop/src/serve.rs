//! `perfloop serve`: the web dashboard over the history store (perfloop-serve), until
//! Ctrl-C.
//!
//! The store must exist and open (exit 2 naming it otherwise: there is nothing to show),
//! and the address must be free (exit 2 naming it) before the first line is printed:
//! `perfloop dashboard: listening on http://ADDR/` (with `?token=…` when a token is
//! required), then the generated token, when the address is not loopback and none was
//! given. Nothing is written to the store: the dashboard only reads it.

use anyhow::anyhow;
use perfloop_serve::{ServeError, ServeOptions, Server};

use crate::cli::ServeCmdArgs;
use crate::{Exit, Failure};

/// Runs `perfloop serve`.
///
/// Exit codes: 0 stopped by Ctrl-C; 2 a store that does not exist or cannot be opened, a bad
/// address, an address in use, an empty token; 3 the server could not start (threads,
/// randomness).
pub fn run(args: &ServeCmdArgs) -> Result<Exit, Failure> {
    let store = crate::history::save::existing_store(args.store.as_deref())?;
    let location = store.location().clone();
    drop(store);
    let options = ServeOptions {
        bind: args.bind.clone(),
        token: args.token.clone(),
        store: Some(location.clone()),
    };
    let server = Server::start(options, None).map_err(|e| match e {
        ServeError::BadAddress { .. } | ServeError::Bind { .. } | ServeError::EmptyToken => {
            Failure::usage(e)
        }
        ServeError::Token { .. } | ServeError::Runtime { .. } => Failure::run(e),
    })?;
    let mut text = format!(
        "perfloop dashboard: listening on {} (store {location})\n",
        server.url()
    );
    if server.token_generated() {
        let token = server
            .token()
            .ok_or_else(|| Failure::run(anyhow!("the generated token is missing")))?;
        text.push_str(&format!(
            "token {token} (generated: the address is not loopback; requests carry it as \
             'Authorization: Bearer TOKEN', or open the address above)\n"
        ));
    }
    text.push_str("Ctrl-C stops it.\n");
    crate::output::stdout_text(&text);
    let stop = crate::load::stop_flag();
    server.run_until(&stop);
    Ok(Exit::Ok)
}
