fn main() {
    std::process::exit(std::env::args_os().len().saturating_sub(1) as i32);
}
