//! Shared helpers for the integration tests: they build tinyrt's examples the way a user
//! would (a separate `cargo build`, panic = "abort") and run them as real processes.
#![allow(dead_code)]

mod arches;
mod build;
mod images;
mod run;
mod seccomp;

pub mod now;
#[cfg(target_arch = "x86_64")]
pub mod ptrace;

// Each test uses some of the helpers: the rest are unused there, as `dead_code` above allows.
#[allow(unused_imports)]
pub use arches::{ARCHES, Arch, runnable, skip};
#[allow(unused_imports)]
pub use build::{
    Build, cargo, cargo_ok, cross_example, cross_examples, cross_examples_in, cross_examples_with,
    example, example_names, examples, root,
};
#[allow(unused_imports)]
pub use images::{Image, host_vdso_exports, pyelftools_list, vdso_fixtures, vdso_images};
#[allow(unused_imports)]
pub use run::{run, stdout, strace, tool};
#[allow(unused_imports)]
pub use seccomp::{
    AUDIT_ARCH_X86_64, bpf_jeq, bpf_stmt, i386, seccomp_program, seccomp_this_thread, with_seccomp,
};
