//! Reading `now`'s output and checking its values against the host's clocks, bracketed by
//! readings taken before the program starts and after it ends. Guests under qemu-user read
//! the host's clocks too, so the same brackets hold for every architecture.

use std::collections::BTreeMap;

/// The clocks the kernel's generic vDSO reads without a system call (lib/vdso: the
/// high-resolution, coarse and raw clock sets).
pub const VDSO_CLOCKS: [&str; 7] = [
    "REALTIME",
    "MONOTONIC",
    "MONOTONIC_RAW",
    "REALTIME_COARSE",
    "MONOTONIC_COARSE",
    "BOOTTIME",
    "TAI",
];

/// Line key ("clock_gettime MONOTONIC", "time", ...) → (value text, tag).
pub fn parse(text: &str) -> BTreeMap<String, (String, String)> {
    let mut m = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (rest, tag) = line.rsplit_once(' ').unwrap();
        let (key, value) = match rest.split_once(' ') {
            Some((f @ ("clock_gettime" | "clock_getres"), r)) => {
                let (clock, v) = r.split_once(' ').unwrap();
                (format!("{f} {clock}"), v.to_owned())
            }
            Some((f, v)) => (f.to_owned(), v.to_owned()),
            None => (rest.to_owned(), String::new()),
        };
        // `[rseq]` (the rseq area) can only serve getcpu.
        assert!(
            tag == "[vdso]" || tag == "[syscall]" || (tag == "[rseq]" && key == "getcpu"),
            "{line}"
        );
        m.insert(key, (value, tag.to_owned()));
    }
    m
}

/// The host's `clock` through glibc, in nanoseconds.
pub fn host(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    assert_eq!(unsafe { libc::clock_gettime(clock, &mut ts) }, 0);
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

fn nanos(v: &str) -> i128 {
    let (s, ns) = v.split_once('.').unwrap();
    s.parse::<i128>().unwrap() * 1_000_000_000 + ns.parse::<i128>().unwrap()
}

const HOST_CLOCKS: [(&str, libc::clockid_t); 7] = [
    ("REALTIME", libc::CLOCK_REALTIME),
    ("MONOTONIC", libc::CLOCK_MONOTONIC),
    ("MONOTONIC_RAW", libc::CLOCK_MONOTONIC_RAW),
    ("REALTIME_COARSE", libc::CLOCK_REALTIME_COARSE),
    ("MONOTONIC_COARSE", libc::CLOCK_MONOTONIC_COARSE),
    ("BOOTTIME", libc::CLOCK_BOOTTIME),
    ("TAI", libc::CLOCK_TAI),
];

/// Runs `now` through `launch`, bracketing it with the host's clocks, and checks every
/// value; returns the parsed lines.
pub fn check_values(
    what: &str,
    launch: impl FnOnce() -> String,
) -> BTreeMap<String, (String, String)> {
    let before: Vec<i128> = HOST_CLOCKS.iter().map(|c| host(c.1)).collect();
    let text = launch();
    let after: Vec<i128> = HOST_CLOCKS.iter().map(|c| host(c.1)).collect();
    let m = parse(&text);
    assert_eq!(m.len(), 2 * 11 + 3, "{what}: {text}");
    for (i, (name, _)) in HOST_CLOCKS.iter().enumerate() {
        let v = nanos(&m[&format!("clock_gettime {name}")].0);
        assert!(
            before[i] <= v && v <= after[i],
            "{what}: {name} {v} not in [{}, {}]",
            before[i],
            after[i]
        );
        let mut res = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let id = HOST_CLOCKS[i].1;
        // SAFETY: res is ours.
        assert_eq!(unsafe { libc::clock_getres(id, &mut res) }, 0);
        let r = nanos(&m[&format!("clock_getres {name}")].0);
        assert_eq!(
            r,
            i128::from(res.tv_nsec) + i128::from(res.tv_sec) * 1_000_000_000,
            "{what}: res {name}"
        );
    }
    for cpu in ["PROCESS_CPUTIME_ID", "THREAD_CPUTIME_ID"] {
        let v = nanos(&m[&format!("clock_gettime {cpu}")].0);
        assert!(v > 0 && v < 60_000_000_000, "{what}: {cpu} {v}");
    }
    let tv = &m["gettimeofday"].0;
    let (s, us) = tv.split_once('.').unwrap();
    let tv = s.parse::<i128>().unwrap() * 1_000_000 + us.parse::<i128>().unwrap();
    assert!(
        before[0] / 1000 <= tv && tv <= after[0] / 1000,
        "{what}: gettimeofday"
    );
    // time() has one tick's precision: the coarse clock's second, or (where a fallback
    // reads it) the precise clock's, which runs up to a tick ahead of the coarse one. So
    // the bracket is the coarse clock before and the precise one after.
    let t: i128 = m["time"].0.parse().unwrap();
    assert!(
        before[3] / 1_000_000_000 <= t && t <= after[0] / 1_000_000_000,
        "{what}: time {t} not in [{}, {}]",
        before[3] / 1_000_000_000,
        after[0] / 1_000_000_000
    );
    assert!(m["getcpu"].0.starts_with("cpu "), "{what}");
    m
}

pub fn tags(m: &BTreeMap<String, (String, String)>) -> Vec<String> {
    m.values().map(|v| v.1.clone()).collect()
}

/// Whether a tinyrt program run natively here reads getcpu from its rseq area (`[rseq]`):
/// the kernel's rseq has `node_id` (`AT_RSEQ_FEATURE_SIZE`, 27, at least 24: Linux 6.3+).
/// On older kernels the area serves the CPU alone and getcpu goes through the dispatch.
/// The tag of line `key` when the process has no vDSO: `[syscall]`, but getcpu from the rseq
/// area where the kernel's has `node_id` (`rseq`: `native_rseq()` and rseq not refused).
pub fn no_vdso_tag(key: &str, rseq: bool) -> &'static str {
    if key == "getcpu" && rseq {
        "[rseq]"
    } else {
        "[syscall]"
    }
}

pub fn native_rseq() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(27) >= 24 }
}

/// `rseq`'s number on `arch` (the kernel's syscall tables; 293 in the generic one).
pub fn rseq_number(arch: &super::Arch) -> u32 {
    match arch.target.split('-').next().unwrap() {
        "x86_64" => 334,
        "i686" => 386,
        "aarch64" | "riscv64gc" => 293,
        "armv7" => 398,
        "s390x" => 383,
        "powerpc64le" => 387,
        t => panic!("rseq's number on {t}: add it here"),
    }
}

/// The tag `now` must print for line `key` ("clock_gettime CPU...", "getcpu", ...) when the
/// functions in `syscall_functions` have no vDSO entry and `rseq` says whether the rseq
/// area serves getcpu (a native run where the kernel takes the registration: not under
/// qemu-user, valgrind or a filter that refuses `rseq`): clocks outside VDSO_CLOCKS always
/// go to the kernel directly; getcpu says `[rseq]` where the area serves it; every other
/// line says `[vdso]` unless its function lacks one.
pub fn expected_tag(key: &str, syscall_functions: &[&str], rseq: bool) -> &'static str {
    let mut words = key.split(' ');
    let function = words.next().unwrap();
    if let Some(clock) = words.next()
        && !VDSO_CLOCKS.contains(&clock)
    {
        return "[syscall]";
    }
    if function == "getcpu" && rseq {
        "[rseq]"
    } else if syscall_functions.contains(&function) {
        "[syscall]"
    } else {
        "[vdso]"
    }
}
