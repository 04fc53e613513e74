//! `tinyrt_rt::init()`, the runtime's start-up work done up front, resolves every function
//! (its own test binary: nothing may have resolved before).

use tinyrt_rt::time::{self, Function};

#[test]
fn init_resolves_every_function_without_a_call() {
    for f in Function::ALL {
        assert_eq!(
            tinyrt_rt::__private_tests::peek(f),
            None,
            "{f:?} resolved before init"
        );
    }
    tinyrt_rt::init();
    for f in Function::ALL {
        let b = tinyrt_rt::__private_tests::peek(f)
            .unwrap_or_else(|| panic!("{f:?} not resolved by init"));
        assert_eq!(b, time::backend(f));
    }
    // getrandom's state pool is set up too (no random call has been made): nothing is left
    // for a first call to map.
    if matches!(
        tinyrt_rt::__private_tests::peek(Function::Getrandom),
        Some(time::Backend::Vdso { .. })
    ) {
        let st = tinyrt_rt::random::pool_stats();
        assert!(st.states > 0 && st.claims == 0, "{st:?}");
    }
}
