//! Thread-local storage and the runtime's per-thread state ([`Block`]), reached from the
//! thread pointer.
//!
//! Each thread of a tinyrt program built with `threads` owns one *area*: its copy of the
//! program's PT_TLS segment (`.tdata` copied, `.tbss` zeroed) and its [`Block`], laid out
//! around the thread pointer as the architecture's variant says (`arch::TlsVariant`), with the
//! very offsets LLD compiled into the code (`getTlsTpOffset` in lld/ELF/InputSection.cpp):
//!
//! ```text
//! variant I (aarch64 gap 16, arm gap 8, riscv64 gap 0, powerpc64 gap 0 and bias 0x7000):
//!   area ─▶ [pad][Block] base [gap][pad to p_vaddr mod p_align][.tdata .tbss]
//!                        ▲ base: aligned to max(p_align, 64); register = base + bias
//! variant II (x86_64, i686, s390x):
//!   area ─▶ [pad][.tdata .tbss][pad] tp [Block: first word = tp]
//!                  ▲ start ≡ p_vaddr mod p_align      ▲ tp: aligned to max(p_align, 64)
//! ```
//!
//! The main thread's area: crt0 (tinyrt-start with `threads`) calls [`init_main_thread`] after
//! recording the stack and before `main`. It lies in a static of [`MAIN_ROOM`] bytes when it
//! fits, else in a mapping of its own (one `mmap`). Then `set_tid_address` (which also
//! answers the thread id: the Block's `tid` is the word the kernel clears when the thread
//! exits) and, where the register is the kernel's to write, the call that sets the thread
//! pointer (`arch_prctl` on x86_64, `set_thread_area` on i686, `set_tls` on armv7): two
//! system calls there, one on aarch64, riscv64, s390x and powerpc64.
//!
//! PT_TLS is found through `AT_PHDR`/`AT_PHNUM`; its image is at `p_vaddr` plus the load
//! bias (`AT_PHDR` minus PT_PHDR's `p_vaddr` in a static-PIE program, which has a PT_PHDR;
//! 0 in a static one, which the kernel never moves).
//!
//! Without `threads`, and in library mode (where the C library owns the thread pointer and
//! tinyrt never reads or sets it), [`current`] is one static Block for the one thread. (With
//! both features, unified in a workspace that also builds a std program, it asks whether
//! crt0 set the thread pointer up.)
//!
//! Contract with the `thread` module (issue 26's plan): `Block` (fields `this`, `tid`,
//! `thread`, `mapping`, `stack`, `rseq`, the thread module's `state`, cpu's `rseq_len`, and
//! for signal's overflow report `name`/`name_len` and `alt_stack`; getrandom needs no slot:
//! its state pool hands a state to one caller at a time, whatever the thread),
//! [`area_layout`], [`init_area`], [`current`]; crt0's hook is
//! `__private_start::init_main_thread`. The arch side: `arch::thread_pointer()`,
//! `arch::set_thread_pointer(tp)` (unsafe; it answers the kernel's raw result as a `usize`,
//! a negated errno in -4095..=-1, as `syscallN` do), `arch::TLS`, and `arch::TlsArg` with
//! `arch::clone_tls_arg(tp, &mut scratch)` (i686: a `struct user_desc *` for clone; `tp`
//! elsewhere). A new thread's `tid` is the kernel's to write (CLONE_CHILD_SETTID and
//! CLEARTID on `&block.tid`); its `mapping` and `stack` the thread module's, after
//! `init_area`.
//!
//! # Safety
//!
//! [`init_area`] writes a whole area at the address it is given (the caller's memory) and
//! reads the PT_TLS image the kernel mapped. [`current`] trusts the thread pointer: crt0 sets
//! the main thread's before `main`, and the thread module sets each new thread's (clone's
//! tls argument) to an area that outlives the thread's Rust code.
#![allow(unsafe_code)]
// Without `threads` only `current` and the static Block are used.
#![cfg_attr(not(feature = "threads"), allow(dead_code))]

use crate::arch::TlsVariant;
use crate::sys::RseqArea;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize};

/// The runtime's per-thread state, one per thread, reached from the thread pointer.
#[repr(C)]
pub(crate) struct Block {
    /// Its own address: first, since variant II's thread pointer is the Block's address and
    /// the ABI wants the word there to hold the thread pointer (`*tp == tp` on x86).
    pub(crate) this: usize,
    /// The thread id, and the kernel's CHILD_SETTID/CLEARTID word (0 once the thread exited).
    pub(crate) tid: AtomicU32,
    /// The thread module's handle (opaque here), null if none.
    pub(crate) thread: AtomicPtr<()>,
    /// The thread's own mapping (base, length) that holds its stack and area; (0, 0) on the
    /// main thread.
    pub(crate) mapping: (usize, usize),
    /// Low and high end of the thread's usable stack; (0, 0) where unknown (the main thread).
    pub(crate) stack: (usize, usize),
    /// The thread module's: whether the thread's handle was dropped (then the thread frees
    /// its own mapping) or the thread is ending (then its joiner or dropper does).
    pub(crate) state: AtomicU32,
    /// cpu's: the length the thread's rseq area was registered with; 0 never tried,
    /// `u32::MAX` refused (or unregistered at the thread's end).
    pub(crate) rseq_len: AtomicU32,
    /// The thread's name for signal's stack overflow report, which may not call up into
    /// the thread module: its bytes (the thread module's, alive while the thread holds its
    /// handle: stored at the thread's start, null again before it lets the handle go) and
    /// their length. Null for the main thread and an unnamed one.
    pub(crate) name: AtomicPtr<u8>,
    pub(crate) name_len: AtomicUsize,
    /// The thread's alternate signal stack (lowest address, size), carved from its mapping
    /// by signal's layout; (0, 0) if none.
    pub(crate) alt_stack: (usize, usize),
    /// The thread's rseq area (64-aligned, unregistered until someone registers it).
    pub(crate) rseq: RseqArea,
}

impl Block {
    /// A fresh Block at `this`: unregistered rseq, everything else zero.
    const fn new(this: usize) -> Block {
        Block {
            this,
            tid: AtomicU32::new(0),
            thread: AtomicPtr::new(core::ptr::null_mut()),
            mapping: (0, 0),
            stack: (0, 0),
            state: AtomicU32::new(0),
            rseq_len: AtomicU32::new(0),
            name: AtomicPtr::new(core::ptr::null_mut()),
            name_len: AtomicUsize::new(0),
            alt_stack: (0, 0),
            rseq: RseqArea::new(),
        }
    }
}

/// The program's PT_TLS, as the offsets need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Segment {
    /// Where its initial image is mapped (`p_vaddr` plus the load bias).
    image: usize,
    /// `p_vaddr`: LLD's offsets keep the block's start congruent to it modulo `align`.
    vaddr: usize,
    /// `p_filesz`: the bytes copied (.tdata).
    filesz: usize,
    /// `p_memsz`: the whole block (.tdata and the zeroed .tbss).
    memsz: usize,
    /// `p_align`, at least 1.
    align: usize,
}

/// Where the parts of an area lie, as offsets from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// The area's bytes.
    size: usize,
    /// Its alignment: the segment's, at least the Block's.
    align: usize,
    /// The thread pointer's value (what the register holds; past `size` on powerpc64).
    tp: usize,
    /// The Block.
    block: usize,
    /// The thread-local block (the segment's copy).
    tls: usize,
}

/// `x` rounded up to `a`, a power of two (as ELF's `p_align` is): no division.
const fn align_up(x: usize, a: usize) -> usize {
    (x + a - 1) & !(a - 1)
}

/// The layout of an area for `seg` (the default, empty, segment: no PT_TLS) on `variant`.
const fn layout(variant: TlsVariant, seg: Segment) -> Layout {
    let block_size = size_of::<Block>();
    let p_align = if seg.align == 0 { 1 } else { seg.align };
    let align = if p_align > align_of::<Block>() {
        p_align
    } else {
        align_of::<Block>()
    };
    match variant {
        // LLD: offset = st_value + gap + ((p_vaddr - gap) & (p_align - 1)) - bias, from a
        // thread pointer (less the bias) aligned to p_align.
        TlsVariant::I { gap, bias } => {
            let base = align_up(block_size, align);
            let tls = base + gap + (seg.vaddr.wrapping_sub(gap) & (p_align - 1));
            Layout {
                size: tls + seg.memsz,
                align,
                tp: base + bias,
                block: base - block_size,
                tls,
            }
        }
        // LLD: offset = st_value - p_memsz - ((-p_vaddr - p_memsz) & (p_align - 1)), from
        // a thread pointer aligned to p_align.
        TlsVariant::II => {
            let pad = 0usize.wrapping_sub(seg.vaddr).wrapping_sub(seg.memsz) & (p_align - 1);
            let tp = align_up(seg.memsz + pad, align);
            Layout {
                size: tp + block_size,
                align,
                tp,
                block: tp,
                tls: tp - seg.memsz - pad,
            }
        }
    }
}

/// The Block's address for the thread pointer register's value `tp` (inverse of `layout`).
#[cfg(feature = "threads")]
const fn block_address(tp: usize) -> usize {
    match crate::arch::TLS {
        TlsVariant::I { bias, .. } => tp - bias - size_of::<Block>(),
        TlsVariant::II => tp,
    }
}

/// The program's PT_TLS (its image at run time), or the empty segment when it has none.
fn segment() -> Segment {
    use linux_raw_sys::elf::{Elf_Phdr, PT_PHDR, PT_TLS};
    let Some((phdr, phent, phnum)) = crate::auxv::program_headers() else {
        return Segment::default();
    };
    if phent != size_of::<Elf_Phdr>() {
        return Segment::default();
    }
    let (mut bias, mut tls) = (0, None);
    for i in 0..phnum {
        // SAFETY: the kernel maps the program's headers, AT_PHNUM of them of AT_PHENT bytes
        // (checked) each, at AT_PHDR for the life of the process.
        let ph = unsafe { &*(phdr as *const Elf_Phdr).add(i) };
        match ph.p_type {
            PT_PHDR => bias = phdr.wrapping_sub(ph.p_vaddr),
            PT_TLS => tls = Some(ph),
            _ => {}
        }
    }
    match tls {
        Some(ph) => Segment {
            image: ph.p_vaddr.wrapping_add(bias),
            vaddr: ph.p_vaddr,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
            align: ph.p_align.max(1),
        },
        None => Segment::default(),
    }
}

/// The size and alignment of one thread's area (its static TLS and its Block).
#[allow(dead_code)] // for the thread module
pub(crate) fn area_layout() -> (usize, usize) {
    let l = layout(crate::arch::TLS, segment());
    (l.size, l.align)
}

/// Writes a fresh area at `mem`: .tdata copied, .tbss and the padding zeroed, the Block
/// initialised (`this`, rseq unregistered, the rest zero). Returns the thread pointer value
/// for that area (what the register must hold) and the Block's address.
///
/// # Safety
/// `mem` is writable for `area_layout().0` bytes, aligned to `area_layout().1`, and no thread
/// uses it as its area yet.
#[allow(dead_code)] // for the thread module
pub(crate) unsafe fn init_area(mem: *mut u8) -> (usize, *mut Block) {
    let seg = segment();
    // SAFETY: the caller's contract.
    unsafe { write_area(mem, seg, layout(crate::arch::TLS, seg)) }
}

/// `init_area` for `seg` (the program's) laid out as `l` (its layout).
///
/// # Safety
/// As `init_area`.
unsafe fn write_area(mem: *mut u8, seg: Segment, l: Layout) -> (usize, *mut Block) {
    // SAFETY: the caller's contract covers `size` bytes at `mem`; the image is the kernel's
    // mapping of the program's .tdata (`filesz` bytes), which nothing writes.
    unsafe {
        core::ptr::write_bytes(mem, 0, l.size);
        if seg.filesz != 0 {
            core::ptr::copy_nonoverlapping(seg.image as *const u8, mem.add(l.tls), seg.filesz);
        }
        let block = mem.add(l.block).cast::<Block>();
        block.write(Block::new(block as usize));
        (mem as usize + l.tp, block)
    }
}

/// Runs `f` with the calling thread's thread pointer moved to a fresh area (`init_area` in
/// a mapping of its own), then moves it back and unmaps the area: what a new thread's code
/// sees, without a thread (the `tls` example's check of `init_area`). `f` must not keep a
/// reference into the area, nor may a signal handler that uses thread-local data run while
/// it runs (the handler would see the fresh area).
#[cfg(feature = "threads")]
pub(crate) fn with_fresh_area(f: fn()) -> Result<(), crate::Errno> {
    use linux_raw_sys::general::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
    let (size, align) = area_layout();
    let len = size + if align > 4096 { align } else { 0 };
    let base =
        crate::sys::mmap_anonymous(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)?;
    // SAFETY: `len` bytes from `base` are a fresh mapping, enough for an aligned area.
    let (tp, _) = unsafe { init_area(align_up(base, align) as *mut u8) };
    let old = crate::arch::thread_pointer();
    // SAFETY: the area lives until after the old thread pointer is back (below).
    let r = unsafe { crate::arch::set_thread_pointer(tp) };
    if let Err(e) = crate::Errno::from_ret(r) {
        // SAFETY: the mapping was made above and nothing uses it.
        let _ = unsafe { crate::sys::munmap(base, len) };
        return Err(e);
    }
    f();
    // SAFETY: the thread's own area, as crt0 or the thread module set it up.
    unsafe { crate::arch::set_thread_pointer(old) };
    // SAFETY: nothing refers to the area any more: the thread pointer is the old one again.
    let _ = unsafe { crate::sys::munmap(base, len) };
    Ok(())
}

/// Room for the main thread's area when it fits (a program whose TLS is small): no mapping
/// then. Its bytes are .bss, no part of the file.
pub(crate) const MAIN_ROOM: usize = 1024;

#[cfg(feature = "threads")]
mod main_thread {
    use super::{Block, MAIN_ROOM, layout, segment, write_area};
    use crate::arch;
    use core::cell::UnsafeCell;

    /// The main thread's area when it fits.
    #[repr(C, align(64))]
    struct Room(UnsafeCell<[u8; MAIN_ROOM]>);

    // SAFETY: written once, by `init_main_thread`, before any other thread exists; after that
    // only the main thread reaches it, through its thread pointer.
    unsafe impl Sync for Room {}

    static ROOM: Room = Room(UnsafeCell::new([0; MAIN_ROOM]));

    /// Library mode: whether crt0 set the main thread up (then this is a tinyrt program
    /// and every thread has a thread pointer of tinyrt's).
    #[cfg(feature = "library-mode")]
    pub static READY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

    /// Stops the program before `main` with `message`: it cannot run without its
    /// thread-local storage. (No formatting: it would cost every program kilobytes.)
    #[cold]
    fn fail(message: &[u8]) -> ! {
        let _ = crate::io::write_all(crate::io::STDERR, message);
        arch::exit_group(127)
    }

    /// Sets the main thread's area and thread pointer up (see the module's documentation).
    ///
    /// # Safety
    /// Called once, by crt0, after `stack::init` and before anything else runs.
    pub unsafe fn init_main_thread() {
        let seg = segment();
        let l = layout(arch::TLS, seg);
        let mem = if l.size <= MAIN_ROOM && l.align <= align_of::<Room>() {
            ROOM.0.get().cast::<u8>()
        } else {
            // The kernel's mappings are page-aligned; a larger alignment takes more.
            let extra = if l.align > 4096 { l.align } else { 0 };
            let prot = linux_raw_sys::general::PROT_READ | linux_raw_sys::general::PROT_WRITE;
            let flags = linux_raw_sys::general::MAP_PRIVATE | linux_raw_sys::general::MAP_ANONYMOUS;
            match crate::sys::mmap_anonymous(l.size + extra, prot, flags) {
                Ok(a) => super::align_up(a, l.align) as *mut u8,
                Err(_) => fail(b"tinyrt: no memory for the main thread's thread-local storage\n"),
            }
        };
        // SAFETY: `mem` is `size` bytes aligned to `align` (the room, or a fresh mapping),
        // used by nothing else.
        let (tp, block) = unsafe { write_area(mem, seg, l) };
        // SAFETY: the Block lives as long as the process; the kernel writes 0 into `tid` (and
        // wakes it) only when the main thread exits.
        let block: &'static Block = unsafe { &*block };
        // SAFETY: `set_tid_address` takes the address of a word to clear at exit.
        let tid = unsafe {
            arch::syscall1(
                linux_raw_sys::general::__NR_set_tid_address as usize,
                block.tid.as_ptr() as usize,
            )
        };
        block
            .tid
            .store(tid as u32, core::sync::atomic::Ordering::Relaxed);
        // SAFETY: `tp` is the thread pointer of the area just written, which lives as long as
        // the process.
        if unsafe { arch::set_thread_pointer(tp) } > -4096isize as usize {
            fail(b"tinyrt: the system call that sets the thread pointer failed\n");
        }
        #[cfg(feature = "library-mode")]
        READY.store(true, core::sync::atomic::Ordering::Release);
    }
}

#[cfg(feature = "threads")]
pub use main_thread::init_main_thread;

/// Whether the program has started a second thread (set by the thread module before its
/// first `clone`, never cleared). Until then a lock that only guards against re-entry (the
/// heap's) takes its single-thread path: one swap, a plain store to release, no waiting
/// (musl's idea, its `need_locks`). The flag flips on the one thread there is, outside any
/// such lock, so no lock is ever taken in one mode and released in the other.
#[cfg_attr(
    not(all(feature = "threads", not(feature = "library-mode"))),
    allow(dead_code)
)]
static MANY_THREADS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// See [`MANY_THREADS`].
#[cfg_attr(
    not(all(feature = "threads", not(feature = "library-mode"))),
    allow(dead_code)
)]
#[inline(always)]
pub(crate) fn many_threads() -> bool {
    MANY_THREADS.load(core::sync::atomic::Ordering::Relaxed)
}

/// The thread module, before it starts a thread: see [`MANY_THREADS`].
#[cfg_attr(
    not(all(feature = "threads", not(feature = "library-mode"))),
    allow(dead_code)
)]
pub(crate) fn set_many_threads() {
    MANY_THREADS.store(true, core::sync::atomic::Ordering::SeqCst);
}

/// The calling thread's Block, from its thread pointer.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) fn current() -> &'static Block {
    let at = block_address(crate::arch::thread_pointer());
    // SAFETY: every thread of a tinyrt program with `threads` has its thread pointer set to
    // an area `init_area` wrote (crt0 for the main thread, the thread module for the others)
    // before it runs code that can call this, and the area outlives the thread's code.
    unsafe { &*(at as *const Block) }
}

/// The calling thread's Block with both `threads` and `library-mode` (features unified in a
/// workspace that also holds a std program): from the thread pointer when tinyrt's crt0 set
/// it up, else (a std program: the C library's thread pointer) the one static Block.
#[cfg(all(feature = "threads", feature = "library-mode"))]
pub(crate) fn current() -> &'static Block {
    if !main_thread::READY.load(core::sync::atomic::Ordering::Acquire) {
        return &ONE;
    }
    let at = block_address(crate::arch::thread_pointer());
    // SAFETY: as above: crt0 ran `init_main_thread` (READY), so this is a tinyrt program.
    unsafe { &*(at as *const Block) }
}

/// The one Block of a program without `threads` (or a std program, in library mode).
#[cfg(any(not(feature = "threads"), feature = "library-mode"))]
static ONE: Block = Block::new(0);

/// The calling thread's Block: the one static Block, without `threads`.
#[cfg(not(feature = "threads"))]
pub(crate) fn current() -> &'static Block {
    &ONE
}

#[cfg(test)]
mod tests {
    use super::{Block, Layout, Segment, TlsVariant, layout};

    const B: usize = size_of::<Block>();

    fn seg(vaddr: usize, memsz: usize, align: usize) -> Segment {
        Segment {
            image: 0,
            vaddr,
            filesz: memsz / 2,
            memsz,
            align,
        }
    }

    /// LLD's `getTlsTpOffset` for a symbol at offset `off` of the segment, from the thread
    /// pointer register's value (written out per machine as lld/ELF/InputSection.cpp has it).
    fn lld_offset(machine: &str, s: Segment, off: usize) -> isize {
        let a = s.align;
        let v = match machine {
            "arm" | "aarch64" => {
                let w = if machine == "arm" { 4 } else { 8 };
                off + w * 2 + ((s.vaddr.wrapping_sub(w * 2)) & (a - 1))
            }
            "ppc64" => (off + (s.vaddr & (a - 1))).wrapping_sub(0x7000),
            "riscv" => off + (s.vaddr & (a - 1)),
            _ => off
                .wrapping_sub(s.memsz)
                .wrapping_sub(0usize.wrapping_sub(s.vaddr).wrapping_sub(s.memsz) & (a - 1)),
        };
        v as isize
    }

    /// In a std program (library mode: glibc's thread pointer, no tinyrt crt0) the Block is
    /// the one static Block, also with `threads` (`--all-features`).
    #[test]
    fn a_std_program_gets_the_static_block() {
        assert!(core::ptr::eq(super::current(), &super::ONE));
        assert_eq!(super::current().this, 0);
    }

    /// Every variable of every segment lies where LLD's offsets say, inside the area, the
    /// thread pointer aligned, the Block inside the area, apart from the block, aligned.
    #[test]
    fn offsets_agree_with_lld() {
        let machines = [
            ("aarch64", TlsVariant::I { gap: 16, bias: 0 }),
            ("arm", TlsVariant::I { gap: 8, bias: 0 }),
            ("riscv", TlsVariant::I { gap: 0, bias: 0 }),
            (
                "ppc64",
                TlsVariant::I {
                    gap: 0,
                    bias: 0x7000,
                },
            ),
            ("x86", TlsVariant::II),
        ];
        for (m, v) in machines {
            for align in [1, 4, 8, 16, 64, 128, 4096, 65536] {
                for vaddr in [0, 4, 0x10_0100, 0x20_3ff8, 0x1234_5674] {
                    let vaddr = vaddr & !(align.min(4) - 1);
                    for memsz in [0, 1, 12, 64, 100, 4096, 12345] {
                        let s = seg(vaddr, memsz, align);
                        let l: Layout = layout(v, s);
                        let bias = match v {
                            TlsVariant::I { bias, .. } => bias,
                            TlsVariant::II => 0,
                        };
                        assert_eq!((l.tp - bias) % align.max(64), 0, "{m} {s:?}");
                        assert_eq!(l.align, align.max(64));
                        for off in [0, memsz / 3, memsz.saturating_sub(1)] {
                            let ours = l.tls as isize + off as isize - l.tp as isize;
                            assert_eq!(ours, lld_offset(m, s, off), "{m} {s:?} {off}");
                        }
                        assert!(l.tls + memsz <= l.size, "{m} {s:?}");
                        assert_eq!((l.tls % align), (vaddr % align), "{m} {s:?}");
                        assert!(l.block + B <= l.size && l.block.is_multiple_of(64));
                        assert!(
                            l.block + B <= l.tls || l.tls + memsz <= l.block,
                            "{m} {s:?}"
                        );
                    }
                }
            }
        }
    }
}
