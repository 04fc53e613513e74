//! Starts PROGRAM N times with std's `Command::status` (the Rust std side of the spawn
//! benchmark in scripts/report). Prints `repeat N total_ns T`.
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args[1].parse().unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let s = Command::new(&args[2]).args(&args[3..]).status().unwrap();
        assert!(s.success());
    }
    println!("repeat {n} total_ns {}", start.elapsed().as_nanos());
}
