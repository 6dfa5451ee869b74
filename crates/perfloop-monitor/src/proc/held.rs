//! The `/proc` files held open between samples, within a budget of descriptors.
//!
//! A held file is read again from offset 0 (`pread`), which costs a third of opening it
//! each time, and keeps referring to the process it was opened for: once that process is
//! gone, reads fail, even if its pid has been given to a new process. At most
//! [`MAX_HELD_FILES`] descriptors are held, so that a large target tree cannot take the
//! descriptors the load generator needs; files beyond the budget are opened for each read.
//! A process or thread that vanishes between two reads is [`Failure::Gone`], a file the
//! kernel refuses [`Failure::Denied`].

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Why one file could not be read.
#[derive(Debug)]
pub(super) enum Failure {
    /// The process (or thread) is gone, or the file made no sense: leave it out.
    Gone,
    /// The kernel refused.
    Denied,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::PermissionDenied {
            Failure::Denied
        } else {
            Failure::Gone
        }
    }
}

/// A `/proc` file of one process, held open between samples when the budget allows.
#[derive(Debug)]
pub(super) enum Slot {
    /// Not open: opened for each read (and then kept if the process's files are kept).
    Closed,
    /// Open; read again from offset 0 each time.
    Open(File),
    /// The kernel refused to open it; not tried again for this process.
    Denied,
}

impl Slot {
    /// Reads the whole file, opening it if need be; `keep` holds it open afterwards.
    pub(super) fn read<'b>(
        &mut self,
        path: impl FnOnce() -> String,
        buf: &'b mut Vec<u8>,
        keep: bool,
    ) -> Result<&'b [u8], Failure> {
        match self {
            Slot::Open(f) => return read_whole(f, buf),
            Slot::Denied => return Err(Failure::Denied),
            Slot::Closed => {}
        }
        let file = File::open(path()).map_err(|e| {
            let failure = Failure::from(e);
            if matches!(failure, Failure::Denied) {
                *self = Slot::Denied;
            }
            failure
        })?;
        let text = read_whole(&file, buf);
        if keep {
            *self = Slot::Open(file);
        }
        text
    }

    pub(super) fn is_open(&self) -> bool {
        matches!(self, Slot::Open(_))
    }

    /// Stops holding the file (a refusal is remembered).
    pub(super) fn close(&mut self) {
        if self.is_open() {
            *self = Slot::Closed;
        }
    }
}

/// Reads a whole `/proc` file from offset 0 into `buf` (grown as needed). The kernel
/// builds the text afresh for a read at offset 0 and fills the buffer as far as the text
/// goes, so a short read is the end.
pub(super) fn read_whole<'b>(file: &File, buf: &'b mut Vec<u8>) -> Result<&'b [u8], Failure> {
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let room = buf.len() - filled;
        let n = file.read_at(&mut buf[filled..], filled as u64)?;
        filled += n;
        if n < room {
            return Ok(&buf[..filled]);
        }
    }
}

/// The files of one thread of a multi-threaded process.
#[derive(Debug)]
pub(super) struct Task {
    pub(super) tid: u32,
    /// `task/TID/status`: context switches.
    pub(super) status: Slot,
    /// `task/TID/schedstat`, or `task/TID/stat` where the kernel keeps no scheduler
    /// statistics: CPU time.
    pub(super) cpu: Slot,
    /// The thread's start time (from `task/TID/stat`), read once.
    pub(super) start_time: Option<u64>,
}

impl Task {
    pub(super) fn new(tid: u32) -> Task {
        Task {
            tid,
            status: Slot::Closed,
            cpu: Slot::Closed,
            start_time: None,
        }
    }

    /// Descriptors it holds.
    pub(super) fn files(&self) -> usize {
        usize::from(self.status.is_open()) + usize::from(self.cpu.is_open())
    }
}

/// The files of one process of the watched tree. A held file keeps referring to the
/// process it was opened for: once that process is gone, reads fail, even if its pid has
/// been given to a new process.
#[derive(Debug)]
pub(super) struct Held {
    /// Whether this process's files are held open (within [`MAX_HELD_FILES`]).
    pub(super) keep: bool,
    pub(super) stat: Slot,
    pub(super) io: Slot,
    pub(super) status: Slot,
    pub(super) fd_dir: Slot,
    /// Per-thread files, sorted by thread id (multi-threaded processes).
    pub(super) tasks: Vec<Task>,
    /// `num_threads` when `tasks` was listed; 0 when it must be listed again.
    pub(super) listed_threads: u32,
}

impl Held {
    pub(super) fn new(keep: bool) -> Held {
        Held {
            keep,
            stat: Slot::Closed,
            io: Slot::Closed,
            status: Slot::Closed,
            fd_dir: Slot::Closed,
            tasks: Vec::new(),
            listed_threads: 0,
        }
    }

    /// Descriptors it holds.
    pub(super) fn files(&self) -> usize {
        [&self.stat, &self.io, &self.status, &self.fd_dir]
            .into_iter()
            .filter(|s| s.is_open())
            .count()
            + self.tasks.iter().map(Task::files).sum::<usize>()
    }
}

/// Descriptors the reader holds open at most, so that a large target tree cannot take
/// the descriptors the load generator needs; files beyond it are opened for each read.
pub(super) const MAX_HELD_FILES: usize = 256;

/// Files a process's own files take (`stat`, `io`, `status`, `fd`).
pub(super) const FILES_PER_PROCESS: usize = 4;

/// Threads of one process whose files are held open at most.
pub(super) const MAX_HELD_THREADS: u32 = 32;

/// Files a thread of a multi-threaded process takes (`status` and `schedstat` or `stat`).
pub(super) const FILES_PER_THREAD: usize = 2;
