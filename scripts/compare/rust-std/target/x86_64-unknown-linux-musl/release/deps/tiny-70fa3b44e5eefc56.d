/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/deps/tiny-70fa3b44e5eefc56.d: src/bin/tiny.rs

/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/deps/tiny-70fa3b44e5eefc56: src/bin/tiny.rs

src/bin/tiny.rs:
