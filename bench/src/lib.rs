//! Benchmarks only: see benches/clocks.rs.
