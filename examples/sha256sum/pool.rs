//! Hashing: files read in large chunks, and the pool of workers that hashes them while the
//! results are shown in the order of the arguments.

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;
use sha2::{Digest, Sha256};
use tinyrt::Errno;
use tinyrt::io::{self, AsFd, FromRawFd, OwnedFd, RawFd};
use tinyrt::sync::{Condvar, Mutex};
use tinyrt::syscall::{nr, syscall4};
use tinyrt::thread;

/// A SHA-256 digest.
pub type Sum = [u8; 32];

/// What one `read` asks for: large enough that the system calls cost little beside the
/// hashing (about 0.1% at 128 KiB), small enough to stay in the L2 cache.
pub const CHUNK: usize = 128 * 1024;

/// Hashes everything `fd` gives until end of file, a chunk at a time through `buf`.
pub fn hash_fd(fd: impl AsFd, buf: &mut [u8]) -> Result<Sum, Errno> {
    let mut h = Sha256::new();
    loop {
        match io::read(fd.as_fd(), buf) {
            Ok(0) => return Ok(h.finalize().into()),
            Ok(n) => h.update(buf.get(..n).unwrap_or_default()),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Opens `path` and hashes it. A directory opens, and its first `read` fails (EISDIR), as
/// GNU's does.
pub fn hash_file(path: &CStr, buf: &mut [u8]) -> Result<Sum, Errno> {
    hash_fd(&open(path)?, buf)
}

/// `open(path, O_RDONLY | O_CLOEXEC)`, with O_LARGEFILE where `off_t` is 32 bits wide (the
/// kernel sets it itself on 64-bit ones), so that files past 2 GiB read there too.
pub fn open(path: &CStr) -> Result<OwnedFd, Errno> {
    const AT_FDCWD: isize = -100;
    const O_CLOEXEC: usize = 0o2_000_000;
    #[cfg(target_arch = "x86")]
    const O_LARGEFILE: usize = 0o100_000;
    #[cfg(target_arch = "arm")]
    const O_LARGEFILE: usize = 0o400_000;
    #[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
    const O_LARGEFILE: usize = 0;
    // SAFETY: openat only reads the NUL-terminated path, which outlives the call.
    let r = unsafe {
        syscall4(
            nr::__NR_openat,
            AT_FDCWD as usize,
            path.as_ptr() as usize,
            O_CLOEXEC | O_LARGEFILE,
            0,
        )
    };
    let fd = Errno::from_ret(r)?;
    // SAFETY: a descriptor the kernel just gave us: open, and owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A unit of work from the producer: something to hash on a worker, or a result the
/// producer already has (standard input, hashed where it comes so that it is read once and
/// in order; a line that was not a checksum line; an error of the list itself).
pub enum Job<W, R> {
    Work(W),
    Done(R),
}

/// How many workers hash at once: one per CPU the program may run on.
pub fn workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// The jobs handed out whose results are not emitted yet, in job order: at most as many as
/// it has slots, so that a slow file holds back at most that many finished ones after it,
/// and memory stays bounded however many files there are.
struct Window<R> {
    /// Job `n`'s result, once there is one, in slot `n % slots.len()`.
    slots: Vec<Option<R>>,
    /// The next job to emit and the next to hand out.
    first: usize,
    next: usize,
}

impl<R> Window<R> {
    fn new(size: usize) -> Self {
        Window {
            slots: (0..size.max(1)).map(|_| None).collect(),
            first: 0,
            next: 0,
        }
    }

    fn has_room(&self) -> bool {
        self.next - self.first < self.slots.len()
    }

    fn is_empty(&self) -> bool {
        self.first == self.next
    }

    /// The next job's number.
    fn take(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }

    fn put(&mut self, job: usize, result: R) {
        let len = self.slots.len();
        if let Some(slot) = self.slots.get_mut(job % len) {
            *slot = Some(result);
        }
    }

    /// The next result in job order, once it is there.
    fn pop_ready(&mut self) -> Option<R> {
        let len = self.slots.len();
        let r = self.slots.get_mut(self.first % len)?.take()?;
        self.first += 1;
        Some(r)
    }
}

/// Runs the pool: `produce` hands out jobs in order (its buffer is for what it hashes
/// itself), [`workers`] threads turn each `Job::Work` into a result with `work` (and a buffer
/// of [`CHUNK`] bytes each), and `emit` receives every result in the order of the jobs, on
/// the calling thread, each as soon as it and the ones before it are ready. At most
/// `2 * workers()` results are pending (the `Window`).
///
/// Two locks: one over the producer (held to hand out the next job: the producer runs
/// there, so standard input is read once and in order, and the jobs are numbered in the
/// order they come), one over the window and the `done` flag, with a `Condvar` that tells
/// of every change of the window. A worker that waits in the producer (standard input still
/// open) holds only the first lock: the others still put their results and the calling
/// thread emits them, each line as soon as it is ready.
pub fn run<W: Send, R: Send>(
    produce: impl FnMut(&mut [u8]) -> Option<Job<W, R>> + Send,
    work: impl Fn(W, &mut [u8]) -> R + Sync,
    mut emit: impl FnMut(R),
) {
    struct Producer<P> {
        produce: P,
        done: bool,
    }
    struct Results<R> {
        window: Window<R>,
        done: bool,
    }
    let workers = workers();
    let producer = Mutex::new(Producer {
        produce,
        done: false,
    });
    let results = Mutex::new(Results {
        window: Window::new(2 * workers),
        done: false,
    });
    let changed = Condvar::new();
    let finish = || {
        results.lock().done = true;
        changed.notify_all();
    };
    thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let mut p = producer.lock();
                    if p.done {
                        return;
                    }
                    // Room for one more result; it stays while this worker holds the
                    // producer, the only place results are added.
                    drop(changed.wait_while(results.lock(), |r| !r.window.has_room()));
                    let Some(job) = (p.produce)(&mut buf) else {
                        p.done = true;
                        finish();
                        return;
                    };
                    let n = results.lock().window.take();
                    drop(p);
                    let result = match job {
                        Job::Done(r) => r,
                        Job::Work(w) => work(w, &mut buf),
                    };
                    results.lock().window.put(n, result);
                    changed.notify_all();
                }
            });
        }
        let mut r = results.lock();
        loop {
            while let Some(result) = r.window.pop_ready() {
                drop(r);
                changed.notify_all();
                emit(result);
                r = results.lock();
            }
            if r.done && r.window.is_empty() {
                return;
            }
            r = changed.wait(r);
        }
    });
}
