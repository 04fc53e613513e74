//! The std twin of the `overflow` example (`tests/signals.rs` builds it with rustc):
//! `recurse` overflows the main stack, `null` writes through a null pointer, `abort` calls
//! `std::process::abort`. How each ends (stderr, status) is what tinyrt's must match.

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: usize) -> usize {
    let frame = std::hint::black_box([n; 64]);
    recurse(n + 1).wrapping_add(frame[n % 64])
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("recurse") => println!("{}", recurse(0)),
        Some("null") => {
            let p = std::hint::black_box(std::ptr::null_mut::<usize>());
            // SAFETY: not sound, on purpose: the write must fault (page 0 is never mapped), and
            // nothing of this program runs after it.
            unsafe { p.write_volatile(1) };
        }
        Some("abort") => std::process::abort(),
        _ => std::process::exit(2),
    }
}
