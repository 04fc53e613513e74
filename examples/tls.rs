//! Thread-local storage from C (`tests/tools/tls_vars.c`, linked in by tests/tls.rs with
//! `-C link-arg=OBJECT`; tinyrt's `threads` feature): prints what the calling thread sees.
//!
//! ```text
//! thread main tp=0x... block=0x... tid=N
//! var I addr=0x... words=W0,W1            # each variable, as the C code reads it
//! wrote                                    # after writing 1000 + I into each word 0
//! thread main ...                          # the same, written
//! thread fresh ...                         # in a fresh area laid out as a new thread's
//! thread main ...                          # back on the main thread's area
//! ```
//!
//! [`report`] prints the lines for whichever thread calls it (`tp`: the thread pointer
//! register, `block`: the runtime's per-thread Block, `tid`: the thread id it holds, 0 in
//! the fresh area, whose thread the kernel never knew). Exits 0, or 1 when no fresh area
//! could be made.
#![no_std]
#![no_main]

use tinyrt::println;

unsafe extern "C" {
    /// The address of variable `i`, or null past the last.
    safe fn tls_var(i: u32) -> *mut u32;
    /// Word `w` of variable `i`, read by the C code.
    safe fn tls_read(i: u32, w: u32) -> u32;
    /// Writes word 0 of variable `i`.
    safe fn tls_write(i: u32, v: u32);
}

tinyrt::main!(main);

/// Prints the calling thread's view of every variable, labelled `who`.
pub fn report(who: &str) {
    let (tp, block, tid) = tinyrt::__private_tests::thread_block();
    println!("thread {who} tp={tp:#x} block={block:#x} tid={tid}");
    let mut i = 0;
    while !tls_var(i).is_null() {
        println!(
            "var {i} addr={:#x} words={},{}",
            tls_var(i) as usize,
            tls_read(i, 0),
            tls_read(i, 1)
        );
        i += 1;
    }
}

fn main() -> i32 {
    report("main");
    let mut i = 0;
    while !tls_var(i).is_null() {
        tls_write(i, 1000 + i);
        i += 1;
    }
    println!("wrote");
    report("main");
    // A new thread's view: the same variables in a fresh area (initial values again).
    if let Err(e) = tinyrt::__private_tests::with_fresh_tls_area(|| report("fresh")) {
        println!("no fresh area: {e}");
        return 1;
    }
    // Back on the main thread's own area: its writes, where they were.
    report("main");
    0
}
