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
//! The arguments are the same whatever the linker: the C compiler driver (`cc`, the default
//! on x86_64-unknown-linux-gnu, running GNU ld or LLD) and LLD or GNU ld called directly
//! (`linker = "rust-lld"`) all read them alike. They must not depend on the linker: Cargo
//! does not run a build script again when the linker configured for the target changes
//! (`rerun-if-env-changed=RUSTC_LINKER` compares Cargo's own environment, not what it hands
//! the script), so arguments chosen for one linker would reach the next one.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // Feature `threads`: the scripts' `/*threads ... threads*/` parts (the PT_TLS header and
    // the thread-local sections' place in it) become script text; without it they stay
    // comments, and a program without `threads` has no PT_TLS header.
    let threads = env::var_os("CARGO_FEATURE_THREADS").is_some();
    for script in ["link.x", "link-pie.x"] {
        let text = fs::read_to_string(script).unwrap_or_else(|e| {
            panic!("tinyrt: cannot read its linker script {script} (a package without it?): {e}")
        });
        let text = if threads {
            text.replace("/*threads ", "").replace(" threads*/", "")
        } else {
            text
        };
        if let Err(e) = fs::write(out.join(script), text) {
            panic!("tinyrt: cannot install its linker script {script}: {e}");
        }
        println!("cargo:rerun-if-changed={script}");
    }
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");

    // -nostdlib is the driver's "no start files (crt1.o: its own _start), no default
    // libraries" and the linker's "search only the -L directories"; -static, -no-pie, -pie,
    // -z KEYWORD (also joined) and -T SCRIPT the driver passes on as they are.
    // Static-PIE (feature `pie`): ET_DYN without an interpreter, relocated by tinyrt's start
    // code. Not `-static`, with which the driver drops `-pie` (its `-static-pie` LLD does not
    // know): the interpreter it then asks for is discarded by link-pie.x. `-z text` makes a
    // relocation of read-only code a link error; `relr` packs the relative relocations
    // (DT_RELR) instead of one RELA/REL entry each.
    let pie = env::var_os("CARGO_FEATURE_PIE").is_some();
    let relr = env::var_os("CARGO_FEATURE_RELR").is_some();
    let mut args: Vec<&str> = if pie {
        vec!["-nostdlib", "-pie", "-ztext", "-Tlink-pie.x"]
    } else {
        vec!["-nostdlib", "-static", "-no-pie", "-Tlink.x"]
    };
    if pie {
        args.push(if relr {
            "-zpack-relative-relocs"
        } else {
            "-znopack-relative-relocs"
        });
    }
    if env::var_os("CARGO_FEATURE_SIZE").is_some() {
        args.push("-znosectionheader");
    }
    // The examples name the installed script by its path: the linker looks for `-T` scripts
    // in the working directory first, and rustc links tinyrt's examples in the package root,
    // where the uninstalled link.x (with its `threads` parts still comments) lies.
    for a in &args {
        match a.strip_prefix("-T") {
            Some(script) => println!(
                "cargo:rustc-link-arg-examples=-T{}",
                out.join(script).display()
            ),
            None => println!("cargo:rustc-link-arg-examples={a}"),
        }
    }
    // Offered to the build scripts of crates that depend on tinyrt directly, as the
    // environment variable DEP_TINYRT_LINK_ARGS (space-separated): a user's build.rs turns
    // them into `cargo:rustc-link-arg-bins=...` lines (see the README).
    println!("cargo:link-args={}", args.join(" "));
}
