// Links the program with tinyrt's linker script and no C start files. tinyrt's build script
// hands the arguments over in DEP_TINYRT_LINK_ARGS (Cargo does not pass a dependency's link
// arguments on by itself).
fn main() {
    let args = std::env::var("DEP_TINYRT_LINK_ARGS").expect("tinyrt must be a direct dependency");
    for arg in args.split_whitespace() {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
