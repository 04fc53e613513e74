//! Installs tinyrt's linker script.
//!
//! - For programs that depend on tinyrt: `link.x` is copied to OUT_DIR, which is added to
//!   the library search path. Cargo passes a dependency's search paths on to the final link
//!   (its link *arguments* it does not), so a user's binary only has to ask for `-Tlink.x`
//!   and the static flags, from its own build.rs or `.cargo/config.toml` (see the README).
//! - For tinyrt's own examples: the link arguments, with `cargo:rustc-link-arg-examples`.
//! - For the build scripts of crates that depend on tinyrt: the same arguments as
//!   `DEP_TINYRT_LINK_ARGS` (thanks to `links = "tinyrt"`), so a user's build.rs need not
//!   know them.
//!
//! The arguments depend on the linker: the default on x86_64-unknown-linux-gnu is the C
//! compiler driver (`cc`), which takes `-nostartfiles` and `-Wl,`-prefixed options.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for script in ["link.x", "link-pie.x"] {
        if let Err(e) = fs::copy(script, out.join(script)) {
            panic!(
                "tinyrt: cannot install its linker script {script} (a package without it?): {e}"
            );
        }
        println!("cargo:rerun-if-changed={script}");
    }
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");

    // The C driver (x86_64's default `cc`) or LLD itself (`linker = "rust-lld"`, which
    // .cargo/config.toml sets for the other targets). Cargo tells build scripts the linker
    // configured for the target in RUSTC_LINKER.
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let linker = env::var("RUSTC_LINKER").unwrap_or_default();
    let lld = ["rust-lld", "ld.lld", "ld"]
        .iter()
        .any(|n| linker.ends_with(n));
    // Static-PIE (feature `pie`): ET_DYN without an interpreter, relocated by tinyrt's
    // start code; `-z text` makes a relocation of read-only code a link error. `relr` packs
    // the relative relocations (DT_RELR) instead of one RELA/REL entry each.
    let pie = env::var_os("CARGO_FEATURE_PIE").is_some();
    let relr = env::var_os("CARGO_FEATURE_RELR").is_some();
    let mut args: Vec<&str> = match (lld, pie) {
        (true, false) => vec!["-static", "--no-pie", "-Tlink.x", "--build-id=none"],
        (false, false) => vec![
            "-nostartfiles",
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,-Tlink.x",
            "-Wl,--build-id=none",
        ],
        (true, true) => vec![
            "-static",
            "-pie",
            "--no-dynamic-linker",
            "-ztext",
            "-Tlink-pie.x",
            "--build-id=none",
        ],
        (false, true) => vec![
            "-nostartfiles",
            "-nostdlib",
            "-static-pie",
            "-Wl,-z,text",
            "-Wl,-Tlink-pie.x",
            "-Wl,--build-id=none",
        ],
    };
    if pie {
        args.push(match (lld, relr) {
            (true, true) => "-zpack-relative-relocs",
            (true, false) => "-znopack-relative-relocs",
            (false, true) => "-Wl,-z,pack-relative-relocs",
            (false, false) => "-Wl,-z,nopack-relative-relocs",
        });
    }
    if env::var_os("CARGO_FEATURE_SIZE").is_some() {
        args.push(if lld {
            "-znosectionheader"
        } else {
            "-Wl,-z,nosectionheader"
        });
    }
    for a in &args {
        println!("cargo:rustc-link-arg-examples={a}");
    }
    // Offered to the build scripts of crates that depend on tinyrt directly, as the
    // environment variable DEP_TINYRT_LINK_ARGS (space-separated): a user's build.rs turns
    // them into `cargo:rustc-link-arg-bins=...` lines (see the README).
    println!("cargo:link-args={}", args.join(" "));
}
