//! Size budgets of the stripped release examples (deterministic for a toolchain, so they are
//! tests): in size mode (`--features size`, no section header table) `tiny` < 408 bytes and
//! `hello` <= 600 bytes. Run with `--nocapture` to see the table.

mod common;
use common::{Build, example, example_names};

fn size(b: Build, name: &str) -> u64 {
    std::fs::metadata(example(b, name)).unwrap().len()
}

#[test]
fn size_budgets() {
    println!("{:<10} {:>12} {:>12}", "example", "release", "size mode");
    for n in example_names() {
        println!(
            "{:<10} {:>12} {:>12}",
            n,
            size(Build::Release, &n),
            size(Build::Size, &n)
        );
    }
    let tiny = size(Build::Size, "tiny");
    let hello = size(Build::Size, "hello");
    assert!(tiny < 408, "tiny is {tiny} bytes, budget < 408");
    assert!(hello <= 600, "hello is {hello} bytes, budget <= 600");
    // The budgets are about the file the user ships: it must be complete (runs), not cut.
    assert_eq!(
        common::run(&example(Build::Size, "tiny"), &["a", "b"])
            .status
            .code(),
        Some(2)
    );
    let out = common::run(&example(Build::Size, "hello"), &[] as &[&str]);
    assert_eq!(common::stdout(&out), "Hello, world!\n");
}
