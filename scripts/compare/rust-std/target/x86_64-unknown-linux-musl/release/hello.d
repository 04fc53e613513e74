/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/hello: /work/main/scripts/compare/rust-std/src/bin/hello.rs
