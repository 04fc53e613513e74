//! The std twin of the `overflow` example (`tests/signals.rs` builds it with rustc, without
//! crates: libc's few functions are declared here, the PROT_* and MAP_* values written as
//! numbers as the example does): `recurse` overflows the main stack; `null` writes through
//! a null pointer, `rodata` into a `static`, `below-mapping` just below a fresh mapping,
//! `prot-none` into a PROT_NONE page, `stack-read-only` into a read-only page of the main
//! stack below the frame; `abort` calls `std::process::abort`; `thread-recurse` overflows
//! the stack of a spawned thread named `worker`, `unnamed-recurse` of an unnamed one, and
//! `thread-null` writes through a null pointer on a spawned thread. How each ends (stderr,
//! status) is what tinyrt's must match.

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: usize) -> usize {
    let frame = std::hint::black_box([n; 64]);
    recurse(n + 1).wrapping_add(frame[n % 64])
}

static READ_ONLY: [usize; 4] = [1, 2, 3, 4];

unsafe extern "C" {
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn munmap(addr: *mut u8, len: usize) -> i32;
    fn mprotect(addr: *mut u8, len: usize, prot: i32) -> i32;
    fn getpagesize() -> i32;
}

/// Four fresh pages, the lowest and the highest unmapped again, the second made `low` and
/// the third `high`: the address of the second, and the page size.
fn island(low: i32, high: i32) -> (usize, usize) {
    // SAFETY: a fresh private anonymous mapping (PROT_READ|PROT_WRITE, MAP_PRIVATE|
    // MAP_ANONYMOUS), then calls on it alone.
    unsafe {
        let page = getpagesize() as usize;
        let base = mmap(std::ptr::null_mut(), 4 * page, 3, 0x22, -1, 0);
        assert!(base as isize != -1);
        assert_eq!(munmap(base, page), 0);
        assert_eq!(munmap(base.add(3 * page), page), 0);
        assert_eq!(mprotect(base.add(page), page, low), 0);
        assert_eq!(mprotect(base.add(2 * page), page, high), 0);
        (base as usize + page, page)
    }
}

#[inline(never)]
fn grow() {
    std::hint::black_box([0u8; 128 * 1024]);
}

/// A page of the main stack two pages below this frame made read-only, with mapped pages
/// below it.
#[inline(never)]
fn stack_page_read_only() -> usize {
    grow();
    // SAFETY: the page is below every live frame (std's SIGSEGV handler runs on its
    // alternate stack).
    unsafe {
        let page = getpagesize() as usize;
        let here = 0u8;
        let sp = std::hint::black_box(&here) as *const u8 as usize;
        let target = (sp & !(page - 1)) - 2 * page;
        assert_eq!(mprotect(target as *mut u8, page, 1), 0);
        target
    }
}

fn write_to(addr: usize) {
    let p = std::hint::black_box(addr as *mut usize);
    // SAFETY: not sound, on purpose: the write must fault, and nothing of this program runs
    // after it.
    unsafe { p.write_volatile(1) };
}

/// Runs `f` on a spawned thread (named `name`, or unnamed) and waits for it.
fn on_thread(name: Option<&str>, f: fn()) {
    let mut b = std::thread::Builder::new();
    if let Some(n) = name {
        b = b.name(n.to_owned());
    }
    b.spawn(f).unwrap().join().unwrap();
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("recurse") => println!("{}", recurse(0)),
        Some("null") => write_to(0),
        Some("rodata") => write_to(std::ptr::addr_of!(READ_ONLY) as usize),
        Some("below-mapping") => {
            let (low, page) = island(3, 1);
            write_to(low - page)
        }
        Some("prot-none") => write_to(island(0, 3).0),
        Some("stack-read-only") => write_to(stack_page_read_only()),
        Some("abort") => std::process::abort(),
        Some("thread-recurse") => on_thread(Some("worker"), || {
            println!("{}", recurse(0));
        }),
        Some("unnamed-recurse") => on_thread(None, || {
            println!("{}", recurse(0));
        }),
        Some("thread-null") => on_thread(Some("worker"), || write_to(0)),
        _ => std::process::exit(2),
    }
}
