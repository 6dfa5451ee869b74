//! Spawns supervisors from one long-lived thread.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process.
//! A supervisor started from a short-lived thread (a scoped worker, a test's thread, a
//! blocking task of an async runtime) would stop its target as soon as that thread ended. So
//! every supervisor is forked by a dedicated thread that lives as long as the process.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};

/// A command to spawn and where to send the result.
struct Job {
    command: Command,
    reply: Sender<io::Result<Child>>,
}

/// The spawner thread's queue; created on first use and never closed.
static QUEUE: Mutex<Option<Sender<Job>>> = Mutex::new(None);

/// The queue of the spawner thread, starting the thread on first use.
fn queue() -> io::Result<Sender<Job>> {
    let mut guard = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(tx) = guard.as_ref() {
        return Ok(tx.clone());
    }
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("perfloop-spawner".into())
        .spawn(move || {
            for mut job in rx {
                let _ = job.reply.send(job.command.spawn());
            }
        })?;
    *guard = Some(tx.clone());
    Ok(tx)
}

/// Spawns `command` from the long-lived spawner thread.
pub(crate) fn spawn(command: Command) -> io::Result<Child> {
    let (reply, result) = mpsc::channel();
    queue()?
        .send(Job { command, reply })
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    result
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn spawns_from_any_thread() {
        let child = std::thread::spawn(|| spawn(Command::new("true")).unwrap())
            .join()
            .unwrap();
        let mut child = child;
        assert!(child.wait().unwrap().success());
    }

    #[test]
    fn reports_spawn_errors() {
        let err = spawn(Command::new("/nonexistent/program")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
