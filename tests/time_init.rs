//! `time::init()` resolves every function up front (its own test binary: nothing may have
//! resolved before).

use tinyrt_rt::time::{self, Function};

#[test]
fn init_resolves_every_function_without_a_call() {
    for f in Function::ALL {
        assert_eq!(time::peek(f), None, "{f:?} resolved before init");
    }
    time::init();
    for f in Function::ALL {
        let b = time::peek(f).unwrap_or_else(|| panic!("{f:?} not resolved by init"));
        assert_eq!(b, time::backend(f));
    }
}
