/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/deps/mono-7d09596a83cab97a.d: src/bin/mono.rs

/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/deps/mono-7d09596a83cab97a: src/bin/mono.rs

src/bin/mono.rs:
