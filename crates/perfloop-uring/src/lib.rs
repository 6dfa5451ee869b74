//! A safe io_uring ring for perfloop's load engine.
//!
//! The kernel reads and writes user memory long after the call that submitted an operation
//! returns, so every buffer an operation uses belongs to the [`Ring`] while it is in flight:
//! the ring keeps a pool of byte buffers ([`BufId`]), a buffer with an operation in flight
//! can be neither read, changed nor freed (its accessors return `None`, a released buffer
//! returns to the pool only when its completion has arrived), and a connect's address lives
//! in the ring until its completion. That is the whole of the unsafety, held in
//! [`Ring::push`] and the functions that call it; everything else here is safe.
//!
//! Operations are keyed by a `u64` the caller chooses (`user_data`); [`Ring::reap`] hands
//! back each completion with it. Submissions queue up and go to the kernel together in one
//! [`Ring::submit_and_wait`], which may also wait, with a timeout, for completions: one
//! system call per loop turn for all of a worker's connections.
//!
//! Sockets ([`Socket`]) are non-blocking TCP sockets with `TCP_NODELAY`. Close them with
//! [`Ring::close`]: it submits what is queued before the descriptor's number can be reused
//! (a queued entry names its socket by number), and shuts the socket down so that a receive
//! waiting on it completes; operations in flight keep their own reference to the socket.

use std::alloc::Layout;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use io_uring::types::BufRingEntry;
use io_uring::{IoUring, opcode, squeue, types};
use socket2::{Domain, Protocol, SockAddr, Type};

/// `IORING_RECVSEND_POLL_FIRST`: wait for readiness before the first attempt (Linux 5.19).
const RECVSEND_POLL_FIRST: u16 = 1;

/// A buffer of the ring's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BufId(u32);

/// One finished operation, or one result of a multishot receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The key given when the operation was submitted.
    pub user_data: u64,
    /// The system call's result: bytes moved, 0, or a negated `errno`.
    pub result: i32,
    /// A multishot receive: the provided buffer holding the bytes, now the caller's to read
    /// ([`Ring::provided`]) and to give back ([`Ring::recycle`]).
    pub buf: Option<Provided>,
    /// A multishot receive goes on: more completions will come for it.
    pub more: bool,
}

/// A buffer of the ring's provided buffers, lent to the caller by a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provided(u16);

impl Completion {
    /// The result as an I/O result: bytes moved, or the error.
    pub fn io(&self) -> io::Result<usize> {
        usize::try_from(self.result).map_err(|_| io::Error::from_raw_os_error(-self.result))
    }
}

struct Buf {
    data: Vec<u8>,
    /// An operation in flight reads or writes `data`.
    busy: bool,
    /// Handed out by [`Ring::buffer`] and not yet released.
    owned: bool,
}

/// What the ring keeps for an operation until its completion.
struct Op {
    user_data: u64,
    buf: Option<u32>,
    /// A connect's address, read by the kernel.
    addr: Option<Box<SockAddr>>,
    live: bool,
    /// A multishot operation: live until a completion without `more`.
    multishot: bool,
}

/// An io_uring instance with the buffers its operations use.
pub struct Ring {
    ring: IoUring,
    bufs: Vec<Buf>,
    free_bufs: Vec<u32>,
    ops: Vec<Op>,
    free_ops: Vec<u32>,
    /// Operations submitted and not yet completed.
    in_flight: usize,
    /// The provided buffers multishot receives fill.
    provided: Option<BufRing>,
}

/// The provided buffer ring (group [`GROUP`]): a page-aligned ring of entries the kernel
/// takes buffers from, and the buffers, one allocation each, never referenced whole by
/// Rust (the kernel writes into some while the caller reads others).
struct BufRing {
    entries: NonNull<BufRingEntry>,
    entries_layout: Layout,
    data: NonNull<u8>,
    data_layout: Layout,
    size: usize,
    count: u16,
    /// The next entry to fill (a copy of the tail the kernel reads).
    tail: u16,
    /// Which buffers are the kernel's (in the ring, or being filled).
    in_kernel: Vec<bool>,
}

/// The provided buffer group of multishot receives.
const GROUP: u16 = 0;

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("buffers", &self.bufs.len())
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Ring {
    /// A ring of `entries` submission slots (rounded up to a power of two by the kernel;
    /// completions get twice as many). Fails where io_uring is missing or forbidden
    /// (`ENOSYS`, `EPERM`), or the kernel is older than the ring needs (Linux 6.1: a single
    /// issuer with deferred task work, timed waits, readiness-first receives).
    pub fn new(entries: u32) -> io::Result<Ring> {
        // Linux 6.1 and later: one thread submits and reaps (the worker's), so completions'
        // task work waits for its next wait instead of interrupting it.
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(entries)
            .map_err(|e| {
                let why = match e.raw_os_error() {
                    Some(libc::EPERM) => {
                        "forbidden here (a seccomp profile, as containers have, or the \
                         kernel.io_uring_disabled setting)"
                    }
                    Some(libc::ENOSYS) => "the kernel has no io_uring",
                    Some(libc::EINVAL) => {
                        "the kernel is older than the ring needs (single issuer, deferred \
                         task work: Linux 6.1)"
                    }
                    _ => "the ring could not be set up",
                };
                io::Error::new(e.kind(), format!("{why}: {e}"))
            })?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the kernel's io_uring has no timed waits (IORING_FEAT_EXT_ARG, Linux 5.11)",
            ));
        }
        Ok(Ring {
            ring,
            bufs: Vec::new(),
            free_bufs: Vec::new(),
            ops: Vec::new(),
            free_ops: Vec::new(),
            in_flight: 0,
            provided: None,
        })
    }

    /// Whether io_uring works here: a small ring with provided buffers, and one no-op
    /// through it.
    pub fn probe() -> io::Result<()> {
        let mut ring = Ring::new(8)?;
        ring.provide(2, 64)?;
        ring.nop(7)?;
        ring.submit_and_wait(1, Some(Duration::from_secs(1)))?;
        let mut done = Vec::new();
        ring.reap(&mut done);
        match done.first() {
            Some(c) if c.user_data == 7 => c.io().map(|_| ()),
            _ => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "io_uring did not complete a no-op",
            )),
        }
    }

    /// Operations submitted (or queued) whose completion has not been reaped.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    // ---- buffers ---------------------------------------------------------------------

    /// A buffer of `len` bytes from the pool (a released one when there is one; its
    /// capacity is kept, so a warm pool does not allocate).
    pub fn buffer(&mut self, len: usize) -> BufId {
        let id = match self.free_bufs.pop() {
            Some(id) => id,
            None => {
                self.bufs.push(Buf {
                    data: Vec::new(),
                    busy: false,
                    owned: false,
                });
                u32::try_from(self.bufs.len() - 1).unwrap_or(u32::MAX)
            }
        };
        if let Some(buf) = self.bufs.get_mut(id as usize) {
            buf.owned = true;
            buf.data.resize(len, 0);
        }
        BufId(id)
    }

    /// Gives a buffer back: it returns to the pool now, or when the operation in flight
    /// on it completes.
    pub fn release(&mut self, id: BufId) {
        let Some(buf) = self.bufs.get_mut(id.0 as usize) else {
            return;
        };
        if !buf.owned {
            return;
        }
        buf.owned = false;
        if !buf.busy {
            self.free_bufs.push(id.0);
        }
    }

    /// The buffer's bytes; `None` while an operation is in flight on it.
    pub fn data(&self, id: BufId) -> Option<&[u8]> {
        self.bufs
            .get(id.0 as usize)
            .filter(|b| b.owned && !b.busy)
            .map(|b| b.data.as_slice())
    }

    /// The buffer, to fill; `None` while an operation is in flight on it.
    pub fn data_mut(&mut self, id: BufId) -> Option<&mut Vec<u8>> {
        self.bufs
            .get_mut(id.0 as usize)
            .filter(|b| b.owned && !b.busy)
            .map(|b| &mut b.data)
    }

    // ---- provided buffers (multishot receives) ---------------------------------------

    /// Registers `count` buffers of `size` bytes (`count` a power of two, at most 32768)
    /// for multishot receives to fill; once only.
    #[allow(unsafe_code)]
    pub fn provide(&mut self, count: u16, size: usize) -> io::Result<()> {
        if self.provided.is_some() || !count.is_power_of_two() || count > 1 << 15 || size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "provided buffers: once, a power of two up to 32768, of a size",
            ));
        }
        let entries_layout = Layout::array::<BufRingEntry>(usize::from(count))
            .and_then(|l| l.align_to(4096))
            .map_err(io::Error::other)?;
        let data_layout =
            Layout::from_size_align(usize::from(count) * size, 64).map_err(io::Error::other)?;
        // SAFETY: both layouts have a non-zero size (count and size are at least 1).
        let (entries, data) = unsafe {
            (
                std::alloc::alloc_zeroed(entries_layout),
                std::alloc::alloc_zeroed(data_layout),
            )
        };
        let (Some(entries), Some(data)) = (
            NonNull::new(entries.cast::<BufRingEntry>()),
            NonNull::new(data),
        ) else {
            // SAFETY: each pointer was allocated with its layout just above, if at all.
            unsafe {
                if !entries.is_null() {
                    std::alloc::dealloc(entries, entries_layout);
                }
                if !data.is_null() {
                    std::alloc::dealloc(data, data_layout);
                }
            }
            return Err(io::ErrorKind::OutOfMemory.into());
        };
        let mut bufs = BufRing {
            entries,
            entries_layout,
            data,
            data_layout,
            size,
            count,
            tail: 0,
            in_kernel: vec![false; usize::from(count)],
        };
        // SAFETY: the ring's memory is page-aligned, zeroed and `count` entries long; it and
        // the buffers stay allocated until the ring is unregistered (`Drop`), or are leaked.
        let registered = unsafe {
            self.ring.submitter().register_buf_ring_with_flags(
                entries.as_ptr() as u64,
                count,
                GROUP,
                0,
            )
        };
        if let Err(e) = registered {
            // Never registered: the memory is ours alone.
            bufs.free();
            return Err(e);
        }
        for bid in 0..count {
            bufs.add(bid);
        }
        bufs.publish();
        self.provided = Some(bufs);
        Ok(())
    }

    /// The bytes a completion brought in a provided buffer; `None` if the buffer is not
    /// the caller's (never lent, or given back).
    #[allow(unsafe_code)]
    pub fn provided(&self, buf: Provided, len: usize) -> Option<&[u8]> {
        let bufs = self.provided.as_ref()?;
        if *bufs.in_kernel.get(usize::from(buf.0))? {
            return None;
        }
        let len = len.min(bufs.size);
        // SAFETY: the buffer is inside the allocation and out of the kernel's hands until it
        // is recycled, which needs `&mut self` and so ends this borrow first.
        Some(unsafe {
            std::slice::from_raw_parts(bufs.data.as_ptr().add(usize::from(buf.0) * bufs.size), len)
        })
    }

    /// Gives a provided buffer back to the kernel.
    pub fn recycle(&mut self, buf: Provided) {
        let Some(bufs) = self.provided.as_mut() else {
            return;
        };
        if bufs.in_kernel.get(usize::from(buf.0)) == Some(&false) {
            bufs.add(buf.0);
            bufs.publish();
        }
    }

    // ---- operations ------------------------------------------------------------------

    /// An operation that does nothing (the probe).
    #[allow(unsafe_code)]
    pub fn nop(&mut self, user_data: u64) -> io::Result<()> {
        let op = self.op(user_data, None, None);
        let entry = opcode::Nop::new().build();
        // SAFETY: a no-op reads no memory.
        unsafe { self.push(entry, op) }
    }

    /// Connects `fd` to `addr`.
    #[allow(unsafe_code)]
    pub fn connect(&mut self, fd: RawFd, addr: SocketAddr, user_data: u64) -> io::Result<()> {
        let addr = Box::new(SockAddr::from(addr));
        let (ptr, len) = (addr.as_ptr(), addr.len());
        let op = self.op(user_data, None, Some(addr));
        let entry = opcode::Connect::new(types::Fd(fd), ptr.cast(), len).build();
        // SAFETY: the address is boxed (its place never moves) and kept in the operation's
        // record until its completion is reaped.
        unsafe { self.push(entry, op) }
    }

    /// Sends the buffer's bytes from `offset` on (`MSG_NOSIGNAL`: a closed peer is an
    /// error, not a signal). The buffer is the ring's until the completion.
    #[allow(unsafe_code)]
    pub fn send(&mut self, fd: RawFd, id: BufId, offset: usize, user_data: u64) -> io::Result<()> {
        let (ptr, len) = self.lend(id, offset)?;
        let op = self.op(user_data, Some(id.0), None);
        let entry = opcode::Send::new(types::Fd(fd), ptr, len)
            .flags(libc::MSG_NOSIGNAL)
            .build();
        // SAFETY: `lend` marked the buffer busy: until the completion is reaped it is neither
        // handed out for reading or writing, nor resized, nor freed (a release is deferred),
        // and its heap storage does not move when the pool grows.
        unsafe { self.push(entry, op) }
    }

    /// Receives into the whole buffer; the completion's result is how many bytes came,
    /// readable with [`Ring::data`] once it is reaped.
    #[allow(unsafe_code)]
    pub fn recv(&mut self, fd: RawFd, id: BufId, user_data: u64) -> io::Result<()> {
        let (ptr, len) = self.lend(id, 0)?;
        let op = self.op(user_data, Some(id.0), None);
        // Armed for readiness first: a receive is posted before its answer can have come,
        // so trying it at once would only fail.
        let entry = opcode::Recv::new(types::Fd(fd), ptr.cast_mut(), len)
            .ioprio(RECVSEND_POLL_FIRST)
            .build();
        // SAFETY: as for `send`: the buffer is busy, so nothing else reads, writes, moves or
        // frees it until the completion is reaped.
        unsafe { self.push(entry, op) }
    }

    /// Receives on `fd` again and again into provided buffers, one completion each (with
    /// `more` while it goes on), until the end of the stream, an error, or no buffer left
    /// (`ENOBUFS`: post it again once buffers are back).
    #[allow(unsafe_code)]
    pub fn recv_multi(&mut self, fd: RawFd, user_data: u64) -> io::Result<()> {
        if self.provided.is_none() {
            return Err(io::Error::other("no provided buffers (Ring::provide)"));
        }
        let op = self.op(user_data, None, None);
        if let Some(record) = self.ops.get_mut(op as usize) {
            record.multishot = true;
        }
        let entry = opcode::RecvMulti::new(types::Fd(fd), GROUP).build();
        // SAFETY: the kernel writes only into provided buffers it took from the ring, which
        // stay allocated while registered (see `provide` and `Drop`).
        unsafe { self.push(entry, op) }
    }

    /// Marks a buffer busy and returns where its bytes from `offset` are.
    fn lend(&mut self, id: BufId, offset: usize) -> io::Result<(*const u8, u32)> {
        let buf = self
            .bufs
            .get_mut(id.0 as usize)
            .filter(|b| b.owned && !b.busy)
            .ok_or_else(|| io::Error::other("the buffer is not free for an operation"))?;
        let rest = buf
            .data
            .get(offset..)
            .ok_or_else(|| io::Error::other("offset past the buffer's end"))?;
        let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
        let ptr = rest.as_ptr();
        buf.busy = true;
        Ok((ptr, len))
    }

    /// Records an operation; its index goes to the kernel as the entry's user data.
    fn op(&mut self, user_data: u64, buf: Option<u32>, addr: Option<Box<SockAddr>>) -> u32 {
        let record = Op {
            user_data,
            buf,
            addr,
            live: true,
            multishot: false,
        };
        match self.free_ops.pop() {
            Some(i) => {
                if let Some(slot) = self.ops.get_mut(i as usize) {
                    *slot = record;
                }
                i
            }
            None => {
                self.ops.push(record);
                u32::try_from(self.ops.len() - 1).unwrap_or(u32::MAX)
            }
        }
    }

    /// Queues an entry, submitting what is queued first when the queue is full.
    ///
    /// # Safety
    ///
    /// Every piece of memory the entry points to must stay valid, unmoved and otherwise
    /// unused until its completion is reaped (the buffer busy, the address in the record).
    #[allow(unsafe_code)]
    unsafe fn push(&mut self, entry: squeue::Entry, op: u32) -> io::Result<()> {
        let entry = entry.user_data(u64::from(op));
        self.in_flight += 1;
        loop {
            // SAFETY: the caller keeps the entry's memory valid until its completion.
            let pushed = unsafe { self.ring.submission().push(&entry) };
            if pushed.is_ok() {
                return Ok(());
            }
            if let Err(e) = self.ring.submit() {
                self.in_flight -= 1;
                self.finish(op);
                return Err(e);
            }
        }
    }

    /// Forgets an operation: its buffer free again (back to the pool if released), its
    /// address dropped.
    fn finish(&mut self, op: u32) -> Option<u64> {
        let record = self.ops.get_mut(op as usize)?;
        if !record.live {
            return None;
        }
        record.live = false;
        record.multishot = false;
        record.addr = None;
        let user_data = record.user_data;
        if let Some(b) = record.buf.take()
            && let Some(buf) = self.bufs.get_mut(b as usize)
        {
            buf.busy = false;
            if !buf.owned {
                self.free_bufs.push(b);
            }
        }
        self.free_ops.push(op);
        Some(user_data)
    }

    // ---- submission and completion ---------------------------------------------------

    /// Submits everything queued and waits until `want` completions are ready or `timeout`
    /// has passed (`None`: no limit). A timeout or a signal is not an error: the caller
    /// looks at what completed and at the clock.
    pub fn submit_and_wait(&mut self, want: usize, timeout: Option<Duration>) -> io::Result<()> {
        self.wait(want, timeout, 0)
    }

    /// Submits everything queued and waits for completions in a batch: up to `gather` for
    /// `want` of them, then returns as soon as there is at least one, or at `timeout` if
    /// none came. A completion can thus wait up to `gather` before the caller sees it.
    /// Kernels before Linux 6.12 have no such wait: there it is
    /// [`Ring::submit_and_wait`] for one.
    pub fn submit_and_gather(
        &mut self,
        want: usize,
        gather: Duration,
        timeout: Duration,
    ) -> io::Result<()> {
        let gather = u32::try_from(gather.as_micros()).unwrap_or(u32::MAX);
        if !self.ring.params().is_feature_min_timeout() || gather == 0 || want <= 1 {
            return self.wait(1, Some(timeout), 0);
        }
        self.wait(want, Some(timeout), gather)
    }

    fn wait(&mut self, want: usize, timeout: Option<Duration>, gather_us: u32) -> io::Result<()> {
        let result = match timeout {
            None => self.ring.submit_and_wait(want),
            Some(t) => {
                let ts = types::Timespec::new()
                    .sec(t.as_secs())
                    .nsec(t.subsec_nanos());
                let args = types::SubmitArgs::new()
                    .timespec(&ts)
                    .min_wait_usec(gather_us);
                self.ring.submitter().submit_with_args(want, &args)
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Closes a socket: what is queued is submitted first (an entry names its socket by
    /// descriptor number, which the next socket opened, here or in another thread, may
    /// take), then both directions are shut down, so that operations still waiting on it
    /// complete, and the descriptor is closed.
    pub fn close(&mut self, socket: Socket) -> io::Result<()> {
        let queued = !self.ring.submission().is_empty();
        let submitted = if queued { self.submit() } else { Ok(()) };
        socket.shutdown();
        drop(socket);
        submitted
    }

    /// Submits everything queued without waiting.
    pub fn submit(&mut self) -> io::Result<()> {
        match self.ring.submit() {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves the completions that are ready into `out` (cleared first); their buffers
    /// are free again.
    pub fn reap(&mut self, out: &mut Vec<Completion>) {
        out.clear();
        loop {
            let Some(cqe) = self.ring.completion().next() else {
                break;
            };
            let op = u32::try_from(cqe.user_data()).unwrap_or(u32::MAX);
            let flags = cqe.flags();
            let buf = io_uring::cqueue::buffer_select(flags).map(|bid| {
                if let Some(k) = self
                    .provided
                    .as_mut()
                    .and_then(|b| b.in_kernel.get_mut(usize::from(bid)))
                {
                    *k = false;
                }
                Provided(bid)
            });
            let more = io_uring::cqueue::more(flags);
            let user_data = match self.ops.get(op as usize) {
                Some(record) if record.live && record.multishot && more => Some(record.user_data),
                _ => self.finish(op).inspect(|_| {
                    self.in_flight = self.in_flight.saturating_sub(1);
                }),
            };
            if let Some(user_data) = user_data {
                out.push(Completion {
                    user_data,
                    result: cqe.result(),
                    buf,
                    more,
                });
            } else if let Some(buf) = buf {
                self.recycle(buf);
            }
        }
    }
}

impl Drop for Ring {
    /// Buffers are never freed under the kernel: what is still in flight is cancelled and
    /// waited for (a second at most); if anything has not completed by then, the buffers
    /// are leaked, not freed.
    fn drop(&mut self) {
        if self.in_flight > 0 {
            self.cancel_all();
        }
        if self.in_flight > 0 {
            std::mem::forget(std::mem::take(&mut self.bufs));
            std::mem::forget(std::mem::take(&mut self.ops));
            // The provided buffers stay allocated too (`BufRing` frees nothing by itself).
            self.provided = None;
            return;
        }
        if let Some(mut bufs) = self.provided.take() {
            if self.ring.submitter().unregister_buf_ring(GROUP).is_ok() {
                bufs.free();
            }
        }
    }
}

impl Ring {
    /// Cancels every operation in flight and waits (a second at most) for their
    /// completions.
    #[allow(unsafe_code)]
    fn cancel_all(&mut self) {
        let op = self.op(u64::MAX, None, None);
        let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any()).build();
        // SAFETY: a cancellation reads no memory of ours.
        let _ = unsafe { self.push(entry, op) };
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut done = Vec::new();
        while self.in_flight > 0 {
            let now = std::time::Instant::now();
            if now >= deadline || self.submit_and_wait(1, Some(deadline - now)).is_err() {
                break;
            }
            self.reap(&mut done);
        }
    }
}

impl BufRing {
    /// Puts buffer `bid` at the ring's tail (seen by the kernel once published).
    #[allow(unsafe_code)]
    fn add(&mut self, bid: u16) {
        let Some(k) = self.in_kernel.get_mut(usize::from(bid)) else {
            return;
        };
        *k = true;
        let index = usize::from(self.tail & (self.count - 1));
        let addr = self.data.as_ptr() as u64 + u64::from(bid) * self.size as u64;
        // SAFETY: `index` is below `count`; the entry is past the tail the kernel knows, so
        // the kernel does not read it until `publish`. At most `count` buffers are in the
        // kernel's hands (each once), so the tail never laps the kernel's head.
        let entry = unsafe { &mut *self.entries.as_ptr().add(index) };
        entry.set_addr(addr);
        entry.set_len(u32::try_from(self.size).unwrap_or(u32::MAX));
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Tells the kernel about the buffers added.
    #[allow(unsafe_code)]
    fn publish(&self) {
        // SAFETY: the tail is the `resv` field of the ring's first entry, a `u16` the kernel
        // reads atomically; the ring is page-aligned, so it is aligned for an atomic.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()).cast_mut();
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }

    /// Frees the memory; only once the kernel no longer knows it (never registered, or
    /// unregistered).
    #[allow(unsafe_code)]
    fn free(&mut self) {
        // SAFETY: both were allocated in `provide` with these layouts, and are freed once:
        // the `BufRing` is consumed by the callers (taken out of the ring first).
        unsafe {
            std::alloc::dealloc(self.entries.as_ptr().cast(), self.entries_layout);
            std::alloc::dealloc(self.data.as_ptr(), self.data_layout);
        }
    }
}

/// A non-blocking TCP socket with `TCP_NODELAY`, closed when dropped.
#[derive(Debug)]
pub struct Socket(socket2::Socket);

impl Socket {
    /// A socket for connecting to `addr` (IPv4 or IPv6).
    pub fn tcp(addr: SocketAddr) -> io::Result<Socket> {
        let socket = socket2::Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )?;
        socket.set_tcp_nodelay(true)?;
        Ok(Socket(socket))
    }

    /// The descriptor, for operations on the ring.
    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Ends both directions: an operation still waiting on the socket completes.
    pub fn shutdown(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }

    /// The error the socket holds, if any (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.0.take_error()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn wait_for(ring: &mut Ring, n: usize) -> Vec<Completion> {
        let mut all = Vec::new();
        let mut batch = Vec::new();
        while all.len() < n {
            ring.submit_and_wait(1, Some(Duration::from_secs(5)))
                .unwrap();
            ring.reap(&mut batch);
            all.extend_from_slice(&batch);
        }
        all
    }

    /// A socket connected through `ring` (its connect completed, key 1) to a listener on
    /// loopback, and the peer's end.
    fn connected(ring: &mut Ring) -> (Socket, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let socket = Socket::tcp(addr).unwrap();
        ring.connect(socket.fd(), addr, 1).unwrap();
        wait_for(ring, 1);
        let (peer, _) = listener.accept().unwrap();
        (socket, peer)
    }

    #[test]
    fn the_probe_passes_where_io_uring_works() {
        Ring::probe().unwrap();
    }

    #[test]
    fn connect_send_and_receive_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = [0u8; 4];
            s.read_exact(&mut got).unwrap();
            s.write_all(b"pong").unwrap();
            got
        });
        let mut ring = Ring::new(16).unwrap();
        let socket = Socket::tcp(addr).unwrap();
        ring.connect(socket.fd(), addr, 1).unwrap();
        let done = wait_for(&mut ring, 1);
        assert_eq!(done[0].user_data, 1);
        done[0].io().unwrap();

        let out = ring.buffer(0);
        ring.data_mut(out).unwrap().extend_from_slice(b"ping");
        let inb = ring.buffer(64);
        ring.send(socket.fd(), out, 0, 2).unwrap();
        ring.recv(socket.fd(), inb, 3).unwrap();
        // In flight, the buffers are the ring's.
        assert!(ring.data(inb).is_none() && ring.data_mut(out).is_none());
        assert!(ring.send(socket.fd(), out, 0, 9).is_err());
        let done = wait_for(&mut ring, 2);
        let recv = done.iter().find(|c| c.user_data == 3).unwrap();
        let n = recv.io().unwrap();
        assert_eq!(&ring.data(inb).unwrap()[..n], b"pong");
        assert_eq!(server.join().unwrap(), *b"ping");
        assert_eq!(ring.in_flight(), 0);
    }

    #[test]
    fn a_buffer_released_in_flight_returns_to_the_pool_after_its_completion() {
        let mut ring = Ring::new(16).unwrap();
        let (socket, _peer) = connected(&mut ring);
        let buf = ring.buffer(32);
        ring.recv(socket.fd(), buf, 2).unwrap();
        ring.submit().unwrap();
        ring.release(buf);
        // Still in flight: a new buffer is not this one.
        let other = ring.buffer(32);
        assert_ne!(other, buf);
        socket.shutdown();
        let done = wait_for(&mut ring, 1);
        assert_eq!(done[0].user_data, 2);
        assert_eq!(ring.buffer(8), buf, "reused once its receive completed");
    }

    #[test]
    fn a_multishot_receive_fills_provided_buffers_until_the_end_of_the_stream() {
        let mut ring = Ring::new(16).unwrap();
        ring.provide(4, 8).unwrap();
        let (socket, mut peer) = connected(&mut ring);
        ring.recv_multi(socket.fd(), 2).unwrap();
        let mut got = Vec::new();
        // More than the four buffers hold: each is given back as soon as it is read.
        for round in 0..6u8 {
            peer.write_all(&[round; 5]).unwrap();
            let done = wait_for(&mut ring, 1);
            for c in done {
                assert!(c.more, "{c:?}");
                let buf = c.buf.unwrap();
                let n = c.io().unwrap();
                got.extend_from_slice(ring.provided(buf, n).unwrap());
                ring.recycle(buf);
                assert!(ring.provided(buf, n).is_none(), "given back");
            }
        }
        assert_eq!(got.len(), 30);
        assert!(
            got.chunks(5)
                .enumerate()
                .all(|(i, c)| c.iter().all(|&b| b == i as u8))
        );
        assert_eq!(ring.in_flight(), 1, "still receiving");
        drop(peer);
        let done = wait_for(&mut ring, 1);
        assert_eq!((done[0].result, done[0].more), (0, false));
        assert_eq!(ring.in_flight(), 0);
    }

    #[test]
    fn a_multishot_receive_without_buffers_ends_with_enobufs_and_can_be_posted_again() {
        let mut ring = Ring::new(16).unwrap();
        ring.provide(2, 4).unwrap();
        let (socket, mut peer) = connected(&mut ring);
        ring.recv_multi(socket.fd(), 2).unwrap();
        peer.write_all(b"abcdefghij").unwrap();
        // Two buffers of four bytes, kept: the third piece finds none.
        let mut held = Vec::new();
        let mut ended = None;
        while ended.is_none() {
            for c in wait_for(&mut ring, 1) {
                match c.buf {
                    Some(buf) => held.push((buf, c.io().unwrap())),
                    None => ended = Some(c),
                }
            }
        }
        let ended = ended.unwrap();
        assert_eq!((ended.result, ended.more), (-libc::ENOBUFS, false));
        assert_eq!(held.len(), 2);
        let mut got: Vec<u8> = Vec::new();
        for (buf, n) in held {
            got.extend_from_slice(ring.provided(buf, n).unwrap());
            ring.recycle(buf);
        }
        // Buffers back, posted again: the rest comes.
        ring.recv_multi(socket.fd(), 3).unwrap();
        let c = wait_for(&mut ring, 1)[0];
        got.extend_from_slice(ring.provided(c.buf.unwrap(), c.io().unwrap()).unwrap());
        assert_eq!(got, b"abcdefghij");
    }

    #[test]
    fn dropping_a_ring_with_operations_in_flight_cancels_them() {
        let mut ring = Ring::new(16).unwrap();
        ring.provide(2, 16).unwrap();
        let (socket, _peer) = connected(&mut ring);
        ring.recv_multi(socket.fd(), 2).unwrap();
        let buf = ring.buffer(16);
        ring.recv(socket.fd(), buf, 3).unwrap();
        ring.submit().unwrap();
        assert_eq!(ring.in_flight(), 2);
        let t = std::time::Instant::now();
        drop(ring);
        assert!(
            t.elapsed() < Duration::from_millis(900),
            "cancelled, not timed out"
        );
    }

    #[test]
    fn closing_a_socket_submits_what_is_queued_for_it_first() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut ring = Ring::new(16).unwrap();
        let a = Socket::tcp(addr).unwrap();
        ring.connect(a.fd(), addr, 1).unwrap();
        wait_for(&mut ring, 1);
        let (mut peer_a, _) = listener.accept().unwrap();
        let buf = ring.buffer(0);
        ring.data_mut(buf).unwrap().extend_from_slice(b"for a");
        // Queued, not yet submitted, when the socket closes.
        ring.send(a.fd(), buf, 0, 2).unwrap();
        ring.close(a).unwrap();
        // The next socket usually takes the closed one's number: the send must not go to it
        // (submitted later, it would have; and without the socket, it would have failed).
        let b = Socket::tcp(addr).unwrap();
        ring.connect(b.fd(), addr, 3).unwrap();
        let done = wait_for(&mut ring, 2);
        assert!(
            done.iter().any(|c| c.user_data == 2 && c.result == 5),
            "{done:?}"
        );
        let (mut peer_b, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        peer_a.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"for a");
        peer_b.set_nonblocking(true).unwrap();
        let mut none = [0u8; 8];
        let e = peer_b.read(&mut none).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(b);
    }

    #[test]
    fn a_refused_connect_completes_with_its_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let mut ring = Ring::new(8).unwrap();
        let socket = Socket::tcp(addr).unwrap();
        ring.connect(socket.fd(), addr, 5).unwrap();
        let done = wait_for(&mut ring, 1);
        let e = done[0].io().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn a_gathering_wait_returns_with_fewer_completions_after_its_bound() {
        let mut ring = Ring::new(8).unwrap();
        ring.nop(1).unwrap();
        let t = std::time::Instant::now();
        // Eight wanted, one there: back after the gathering bound, not the timeout.
        ring.submit_and_gather(8, Duration::from_millis(20), Duration::from_secs(5))
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        let mut out = Vec::new();
        ring.reap(&mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_timed_wait_returns_without_completions() {
        let mut ring = Ring::new(8).unwrap();
        let t = std::time::Instant::now();
        ring.submit_and_wait(1, Some(Duration::from_millis(20)))
            .unwrap();
        assert!(t.elapsed() >= Duration::from_millis(15));
        let mut out = vec![Completion {
            user_data: 0,
            result: 0,
            buf: None,
            more: false,
        }];
        ring.reap(&mut out);
        assert!(out.is_empty());
    }
}
