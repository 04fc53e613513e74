//! Link arguments, as origin's example-crates/tiny/build.rs gives them, plus `-static` and
//! `-nostdlib` (no libc, no libgcc): a static, non-PIE ELF with no interpreter.
fn main() {
    for a in [
        // origin provides `_start`.
        "-nostartfiles",
        "-nostdlib",
        "-static",
        // Not PIE (origin's relocation code is nightly-only and only for static-PIE).
        "-Wl,--no-pie",
        "-no-pie",
        // origin's tiny example's size options.
        "-Wl,--no-eh-frame-hdr",
        "-Wl,-N",
        "-Wl,--build-id=none",
    ] {
        println!("cargo:rustc-link-arg-bins={a}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
