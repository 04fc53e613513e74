/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/tiny: /work/main/scripts/compare/rust-std/src/bin/tiny.rs
