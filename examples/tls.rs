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
//! thread t1 ... / thread t1 ...            # a thread: its view, then after its writes (2000 + I)
//! thread t2 ...                            # a second thread: its own fresh view
//! thread main ...                          # the main thread's values, untouched
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
    // Two threads, one after the other (`spawn_raw`: no heap here): each sees the initial
    // values in an area of its own; the first writes its own values, which neither the
    // second nor the main thread sees.
    for (who, memory) in [("t1", 0), ("t2", 1)] {
        static mut MEMORY: [[u8; 256 << 10]; 2] = [[0; 256 << 10]; 2];
        // SAFETY: each buffer is taken once, here, and given to its thread for ever.
        let memory = unsafe { &mut (*core::ptr::addr_of_mut!(MEMORY))[memory] };
        let body = if who == "t1" {
            first_thread
        } else {
            second_thread
        };
        match tinyrt::thread::spawn_raw(memory, body, 0) {
            Ok(t) => t.join(),
            Err(e) => {
                println!("no thread: {e}");
                return 1;
            }
        }
    }
    report("main");
    0
}

/// The first thread: its view, its writes (2000 + I), its view again.
fn first_thread(_: usize) {
    report("t1");
    let mut i = 0;
    while !tls_var(i).is_null() {
        tls_write(i, 2000 + i);
        i += 1;
    }
    report("t1");
}

/// The second thread: its view.
fn second_thread(_: usize) {
    report("t2");
}
