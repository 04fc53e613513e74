/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/deps/hello-011870fd0f636e70.d: src/bin/hello.rs

/work/main/scripts/compare/rust-std/target/x86_64-unknown-linux-musl/release/deps/hello-011870fd0f636e70: src/bin/hello.rs

src/bin/hello.rs:
