/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/mono: /work/main/scripts/compare/rust-std/src/bin/mono.rs
