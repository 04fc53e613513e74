//! Oracle tests for the values a user hands tinyrt (library mode), on generated input
//! (proptest, with shrinking): signal numbers and names against glibc (`sigabbrev_np`, the
//! `libc` crate's numbers) and bash's `kill -l`; `Timespec` and `SystemTime` arithmetic
//! against `std::time` (`SystemTime`, `Duration`) and exact integer arithmetic.
//!
//! Not generated here because other tests hold them to references already: the `sleep`
//! example's arguments (tests/sleep.rs, against GNU sleep), the ELF parser (tests/vdso.rs
//! and vdso_mutate.rs, against pyelftools and a million damaged images), `Command`
//! (tests/oracle.rs, against std).

mod common;
use proptest::prelude::*;
use std::ffi::{CStr, c_char, c_int};
use std::time::{Duration, UNIX_EPOCH};
use tinyrt_rt::signal::Signal;
use tinyrt_rt::time::{Instant, SystemTime, Timespec};

unsafe extern "C" {
    /// glibc 2.32+: the signal's name without `SIG`, or NULL.
    fn sigabbrev_np(sig: c_int) -> *const c_char;
}

/// glibc's name for signal `n` (with `SIG`), if it has one.
fn glibc_name(n: i32) -> Option<String> {
    // SAFETY: sigabbrev_np takes any number and returns NULL or a static string.
    let p = unsafe { sigabbrev_np(n) };
    // SAFETY: a NUL-terminated static string when not NULL.
    (!p.is_null()).then(|| format!("SIG{}", unsafe { CStr::from_ptr(p) }.to_str().unwrap()))
}

/// The names bash's `kill -l` gives signals 1 to 31, with `SIG`.
fn bash_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let out = common::tool(
            "bash",
            &["-c", "for n in $(seq 1 31); do echo SIG$(kill -l $n); done"],
        );
        let names: Vec<String> = out.lines().map(str::to_owned).collect();
        assert_eq!(names.len(), 31, "{out}");
        names
    })
}

/// Every standard signal's number as tinyrt and the `libc` crate give it, and its name as
/// bash's `kill -l` and glibc's `sigabbrev_np` give it (29 has two names: SIGIO in bash
/// and the kernel's headers, tinyrt's choice; SIGPOLL in glibc and procps); no name past 31
/// (glibc has none for the real-time signals).
#[test]
fn signal_numbers_and_names_agree_with_glibc_and_bash() {
    let pairs = [
        (Signal::HUP, libc::SIGHUP),
        (Signal::INT, libc::SIGINT),
        (Signal::QUIT, libc::SIGQUIT),
        (Signal::ILL, libc::SIGILL),
        (Signal::TRAP, libc::SIGTRAP),
        (Signal::ABRT, libc::SIGABRT),
        (Signal::BUS, libc::SIGBUS),
        (Signal::FPE, libc::SIGFPE),
        (Signal::KILL, libc::SIGKILL),
        (Signal::USR1, libc::SIGUSR1),
        (Signal::SEGV, libc::SIGSEGV),
        (Signal::USR2, libc::SIGUSR2),
        (Signal::PIPE, libc::SIGPIPE),
        (Signal::ALRM, libc::SIGALRM),
        (Signal::TERM, libc::SIGTERM),
        (Signal::STKFLT, libc::SIGSTKFLT),
        (Signal::CHLD, libc::SIGCHLD),
        (Signal::CONT, libc::SIGCONT),
        (Signal::STOP, libc::SIGSTOP),
        (Signal::TSTP, libc::SIGTSTP),
        (Signal::TTIN, libc::SIGTTIN),
        (Signal::TTOU, libc::SIGTTOU),
        (Signal::URG, libc::SIGURG),
        (Signal::XCPU, libc::SIGXCPU),
        (Signal::XFSZ, libc::SIGXFSZ),
        (Signal::VTALRM, libc::SIGVTALRM),
        (Signal::PROF, libc::SIGPROF),
        (Signal::WINCH, libc::SIGWINCH),
        (Signal::IO, libc::SIGIO),
        (Signal::PWR, libc::SIGPWR),
        (Signal::SYS, libc::SIGSYS),
    ];
    for (s, n) in pairs {
        assert_eq!(s.number(), n, "{s:?}");
    }
    let bash = bash_names();
    for n in 1..=Signal::MAX {
        let ours = Signal::new(n).unwrap().name();
        let want = bash.get(n as usize - 1).map(String::as_str);
        assert_eq!(ours, want, "signal {n} (bash)");
        // glibc's one other name: SIGPOLL for SIGIO (procps's `kill -l` says POLL too).
        let glibc = glibc_name(n).filter(|_| n < 32);
        let glibc = glibc.map(|g| {
            if g == "SIGPOLL" {
                "SIGIO".to_owned()
            } else {
                g
            }
        });
        assert_eq!(ours.map(str::to_owned), glibc, "signal {n} (glibc)");
    }
    assert_eq!(glibc_name(34), None);
}

/// A byte string near a signal name: one of bash's names (or an alias), with or without `SIG`, changed
/// a little (case, a byte added, cut or replaced), or any bytes.
fn name_like() -> impl Strategy<Value = Vec<u8>> {
    let names: Vec<Vec<u8>> = bash_names()
        .iter()
        .map(|n| n.clone().into_bytes())
        .chain([b"SIGPOLL".to_vec(), b"SIGIOT".to_vec(), b"SIGCLD".to_vec()])
        .collect();
    let base = (proptest::sample::select(names), any::<bool>())
        .prop_map(|(n, short)| if short { n[3..].to_vec() } else { n });
    prop_oneof![
        3 => base.clone(),
        1 => base.clone().prop_map(|n| n.to_ascii_lowercase()),
        1 => (base.clone(), any::<u8>(), any::<prop::sample::Index>()).prop_map(|(mut n, b, i)| {
            n.insert(i.index(n.len() + 1), b);
            n
        }),
        1 => (base.clone(), any::<prop::sample::Index>()).prop_map(|(n, i)| n[..i.index(n.len())].to_vec()),
        1 => (base, any::<u8>(), any::<prop::sample::Index>()).prop_map(|(mut n, b, i)| {
            let at = i.index(n.len());
            n[at] = b;
            n
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..10),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    /// `SigSet` built from signals, and with one taken out, against glibc's `sigset_t`
    /// (`sigaddset`, `sigdelset`, `sigismember`; its first 64 bits are the kernel's set).
    /// Not 32 and 33: glibc refuses its own two.
    #[test]
    fn sigset_agrees_with_glibc(list in proptest::collection::vec(
        (1i32..=64).prop_filter("glibc's own", |n| !(32..=33).contains(n)), 0..12),
        out in (1i32..=64).prop_filter("glibc's own", |n| !(32..=33).contains(n)))
    {
        let signals: Vec<Signal> = list.iter().map(|&n| Signal::new(n).unwrap()).collect();
        let ours = tinyrt_rt::signal::SigSet::of(&signals);
        // SAFETY: a zeroed sigset_t is a valid argument for the glibc calls below.
        let mut theirs: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: a set of ours and valid signal numbers.
        unsafe {
            libc::sigemptyset(&mut theirs);
            for &n in &list {
                assert_eq!(libc::sigaddset(&mut theirs, n), 0);
            }
        }
        let first_word = |s: &libc::sigset_t| {
            // SAFETY: sigset_t is at least 8 bytes of plain integers.
            unsafe { std::ptr::read_unaligned(s as *const libc::sigset_t as *const u64) }
        };
        prop_assert_eq!(ours.bits(), first_word(&theirs));
        for n in (1..=64).filter(|n| !(32..=33).contains(n)) {
            // SAFETY: a set of ours and a valid signal number.
            let member = unsafe { libc::sigismember(&theirs, n) } == 1;
            prop_assert_eq!(ours.contains(Signal::new(n).unwrap()), member);
        }
        let listed: Vec<i32> = ours.iter().map(Signal::number).collect();
        let mut want = list.clone();
        want.sort();
        want.dedup();
        prop_assert_eq!(listed, want);
        // SAFETY: as above.
        unsafe { libc::sigdelset(&mut theirs, out) };
        prop_assert_eq!(ours.without(Signal::new(out).unwrap()).bits(), first_word(&theirs));
    }

    /// `from_name` takes exactly bash's names of the standard signals, with or without
    /// `SIG`, in capitals (bash also takes lowercase; no alias: SIGPOLL, SIGIOT, SIGCLD).
    #[test]
    fn from_name_takes_exactly_bashs_names(name in name_like()) {
        let short = name.strip_prefix(b"SIG").unwrap_or(&name);
        let want = (1..32).find(|&n| bash_names()[n as usize - 1].as_bytes()[3..] == *short);
        prop_assert_eq!(Signal::from_name(&name).map(Signal::number), want);
    }

    #[test]
    fn signal_new_takes_1_to_64(n in any::<i32>(), small in -3i32..70) {
        for n in [n, small] {
            prop_assert_eq!(Signal::new(n).map(Signal::number), (1..=64).contains(&n).then_some(n));
        }
    }
}

/// Seconds: near zero, near the ends of i64, or any.
fn seconds() -> impl Strategy<Value = i64> {
    prop_oneof![
        -3i64..3,
        (i64::MAX - 3)..=i64::MAX,
        i64::MIN..(i64::MIN + 3),
        any::<i64>(),
        -4_000_000_000i64..4_000_000_000,
    ]
}

/// Nanoseconds: in range (mostly near its ends), or past it.
fn nanos() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..3,
        999_999_997u32..1_000_000_000,
        0u32..1_000_000_000,
        1_000_000_000u32..=u32::MAX,
    ]
}

/// Durations: small, near i64::MAX or u64::MAX seconds, or any.
fn duration() -> impl Strategy<Value = Duration> {
    let secs = prop_oneof![
        0u64..3,
        (i64::MAX as u64 - 3)..(i64::MAX as u64 + 3),
        (u64::MAX - 3)..=u64::MAX,
        any::<u64>(),
        0u64..8_000_000_000,
    ];
    (secs, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n))
}

/// std's `SystemTime` at `sec` seconds and `nsec` nanoseconds from the epoch.
fn std_time(sec: i64, nsec: u32) -> std::time::SystemTime {
    let whole = if sec >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(sec as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(sec.unsigned_abs()))
    };
    whole
        .unwrap()
        .checked_add(Duration::from_nanos(nsec.into()))
        .unwrap()
}

/// Nanoseconds from the epoch of a std time.
fn std_nanos(t: std::time::SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// The range of a timespec, in nanoseconds.
fn fits(n: i128) -> bool {
    (i128::from(i64::MIN)..=i128::from(i64::MAX)).contains(&n.div_euclid(1_000_000_000))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10000, failure_persistence: None, ..ProptestConfig::default() })]

    /// `Timespec::new`, its parts and `to_duration` against the integers and `Duration`.
    #[test]
    fn timespec_parts(sec in seconds(), nsec in nanos()) {
        let t = Timespec::new(sec, nsec);
        prop_assert_eq!(t.is_some(), nsec < 1_000_000_000);
        if let Some(t) = t {
            prop_assert_eq!((t.sec(), t.nsec()), (sec, nsec));
            prop_assert_eq!(t.as_nanos(), i128::from(sec) * 1_000_000_000 + i128::from(nsec));
            let want = u64::try_from(sec).ok().map(|s| Duration::new(s, nsec));
            prop_assert_eq!(t.to_duration(), want);
        }
    }

    /// `Timespec::checked_add` is exact where the sum fits a timespec, `None` where it
    /// does not (as std's `SystemTime::checked_add`, same range), and orders as its value.
    #[test]
    fn timespec_checked_add(sec in seconds(), nsec in 0u32..1_000_000_000, d in duration(),
                            sec2 in seconds(), nsec2 in 0u32..1_000_000_000) {
        let t = Timespec::new(sec, nsec).unwrap();
        let exact = t.as_nanos() + d.as_nanos() as i128;
        let want = fits(exact).then_some(exact);
        prop_assert_eq!(t.checked_add(d).map(Timespec::as_nanos), want);
        let std = std_time(sec, nsec).checked_add(d).map(std_nanos);
        prop_assert_eq!(std, want);
        let u = Timespec::new(sec2, nsec2).unwrap();
        prop_assert_eq!(t.cmp(&u), t.as_nanos().cmp(&u.as_nanos()));
    }

    /// `Timespec` subtraction (`checked_sub`, `-`, `checked_duration_since`,
    /// `saturating_duration_since`) and `from_duration`: exact where the value fits, `None`
    /// (or zero) where it does not, as std's `SystemTime` (`checked_sub`, `duration_since`,
    /// `UNIX_EPOCH.checked_add`), whose range is a timespec's.
    #[test]
    fn timespec_subtraction(sec in seconds(), nsec in 0u32..1_000_000_000, d in duration(),
                            sec2 in seconds(), nsec2 in 0u32..1_000_000_000) {
        let t = Timespec::new(sec, nsec).unwrap();
        let exact = t.as_nanos() - d.as_nanos() as i128;
        let want = fits(exact).then_some(exact);
        prop_assert_eq!(t.checked_sub(d).map(Timespec::as_nanos), want);
        prop_assert_eq!(std_time(sec, nsec).checked_sub(d).map(std_nanos), want);
        if want.is_some() {
            prop_assert_eq!((t - d).as_nanos(), exact);
        }
        if let Some(sum) = t.checked_add(d) {
            prop_assert_eq!((t + d).as_nanos(), sum.as_nanos());
        }
        let u = Timespec::new(sec2, nsec2).unwrap();
        let gap = t.as_nanos() - u.as_nanos();
        let want = u128::try_from(gap).ok().map(|n| {
            Duration::new((n / 1_000_000_000) as u64, (n % 1_000_000_000) as u32)
        });
        prop_assert_eq!(t.checked_duration_since(u), want);
        prop_assert_eq!(std_time(sec, nsec).duration_since(std_time(sec2, nsec2)).ok(), want);
        prop_assert_eq!(t.saturating_duration_since(u), want.unwrap_or(Duration::ZERO));
        let want = (d.as_secs() <= i64::MAX as u64).then_some(d.as_nanos() as i128);
        prop_assert_eq!(Timespec::from_duration(d).map(Timespec::as_nanos), want);
        prop_assert_eq!(UNIX_EPOCH.checked_add(d).map(std_nanos), want);
    }

    /// `Instant` and the MONOTONIC clock's `Timespec`: an instant for every time from zero
    /// to `i64::MAX` seconds and none for a negative one, both ways unchanged; its adding,
    /// subtracting and differences against `Duration`'s arithmetic within that range, and
    /// the differences against std's `Instant` (at offsets from now).
    #[test]
    fn instant_against_duration_and_std(sec in seconds(), nsec in 0u32..1_000_000_000,
                                        d in duration(), sec2 in seconds(),
                                        nsec2 in 0u32..1_000_000_000) {
        let ts = Timespec::new(sec, nsec).unwrap();
        let i = Instant::from_timespec(ts);
        prop_assert_eq!(i.is_some(), sec >= 0);
        prop_assert_eq!(Instant::try_from(ts).ok(), i);
        let Some(i) = i else { return Ok(()) };
        prop_assert_eq!(Timespec::from(i), ts);
        let since_zero = Duration::new(sec as u64, nsec);
        let zero = Instant::from_timespec(Timespec::ZERO).unwrap();
        prop_assert_eq!(i.duration_since(zero), since_zero);
        let last = Duration::new(i64::MAX as u64, 999_999_999);
        let add = since_zero.checked_add(d).filter(|&s| s <= last);
        prop_assert_eq!(i.checked_add(d).map(|j| j.duration_since(zero)), add);
        prop_assert_eq!(i.checked_sub(d).map(|j| j.duration_since(zero)),
                        since_zero.checked_sub(d));
        let j = Instant::from_timespec(Timespec::new(sec2.max(0), nsec2).unwrap()).unwrap();
        let since_zero2 = j.duration_since(zero);
        prop_assert_eq!(i.checked_duration_since(j), since_zero.checked_sub(since_zero2));
        prop_assert_eq!(i.saturating_duration_since(j), since_zero.saturating_sub(since_zero2));
        // std's Instant, at the same offsets from now (its zero is unknown), up to a
        // quarter of the range.
        let (a, b) = (since_zero.min(last / 4), since_zero2.min(last / 4));
        let base = std::time::Instant::now();
        let (sa, sb) = (base + a, base + b);
        let (oa, ob) = (zero + a, zero + b);
        prop_assert_eq!(oa.saturating_duration_since(ob), sa.saturating_duration_since(sb));
        prop_assert_eq!(oa.checked_duration_since(ob), sa.checked_duration_since(sb));
        prop_assert_eq!(Timespec::from(oa).saturating_duration_since(ob.into()),
                        sa.saturating_duration_since(sb));
    }

    /// tinyrt's `SystemTime` against std's: adding, subtracting, the difference.
    #[test]
    fn system_time_against_std(sec in seconds(), nsec in 0u32..1_000_000_000, d in duration(),
                               sec2 in seconds(), nsec2 in 0u32..1_000_000_000) {
        let ours = SystemTime::from_timespec(Timespec::new(sec, nsec).unwrap());
        let theirs = std_time(sec, nsec);
        let n = |t: SystemTime| t.to_timespec().as_nanos();
        prop_assert_eq!(ours.checked_add(d).map(n), theirs.checked_add(d).map(std_nanos));
        prop_assert_eq!(ours.checked_sub(d).map(n), theirs.checked_sub(d).map(std_nanos));
        let ours2 = SystemTime::from_timespec(Timespec::new(sec2, nsec2).unwrap());
        let theirs2 = std_time(sec2, nsec2);
        let a = ours.duration_since(ours2).map_err(|e| e.duration());
        let b = theirs.duration_since(theirs2).map_err(|e| e.duration());
        prop_assert_eq!(a, b);
    }
}

/// A raw environment entry: `NAME=VALUE` over a few names (prefixes of each other, the
/// empty one), or an entry without `=`; values with `=` and `,` (printable, nothing that
/// `escape_ascii` would change).
fn entry() -> impl Strategy<Value = Vec<u8>> {
    let name = proptest::sample::select(vec![
        &b"HOME"[..],
        b"PATH",
        b"TINYRT_ARGS_TEST",
        b"A",
        b"AB",
        b"B",
        b"",
    ]);
    let value = proptest::collection::vec(proptest::sample::select(b"ab=,1 ".to_vec()), 0..5);
    let show = proptest::collection::vec(
        proptest::sample::select(vec![&b"A"[..], b"AB", b"B", b"HOME", b"C", b""]),
        0..4,
    );
    prop_oneof![
        6 => (name.clone(), value).prop_map(|(n, v)| [n, b"=", &v].concat()),
        1 => name.prop_map(<[u8]>::to_vec),
        2 => show.prop_map(|s| [&b"TINYRT_SHOW="[..], &s.join(&b","[..])].concat()),
    ]
}

/// The `env` lines `program` prints when started with exactly `env` as its environment
/// (through execve, so that duplicates and entries without `=` reach it as they are).
fn env_lines(program: &std::path::Path, env: &[Vec<u8>]) -> String {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let path = CString::new(program.as_os_str().as_bytes()).unwrap();
    let entries: Vec<CString> = env
        .iter()
        .map(|e| CString::new(e.clone()).unwrap())
        .collect();
    let mut envp: Vec<usize> = entries.iter().map(|c| c.as_ptr() as usize).collect();
    envp.push(0);
    let argv = [path.as_ptr() as usize, 0];
    let (p, a, e) = (
        path.as_ptr() as usize,
        argv.as_ptr() as usize,
        envp.as_ptr() as usize,
    );
    let mut cmd = std::process::Command::new(program);
    // SAFETY: execve is async-signal-safe; the strings and arrays live in this frame until
    // `output` has returned (the child has exec'd or failed by then).
    unsafe {
        cmd.pre_exec(move || {
            libc::execve(
                p as *const c_char,
                a as *const *const c_char,
                e as *const *const c_char,
            );
            Err(std::io::Error::last_os_error())
        })
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter(|l| l.starts_with("env "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// glibc's `getenv` beside the `args` example, built once.
fn getenv_probe() -> &'static std::path::Path {
    static P: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let out = common::root().join("target/tinyrt-tests/oracle/getenv");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = common::root().join("tests/tools/getenv.c");
        common::tool(
            "gcc",
            &["-O2", "-o", out.to_str().unwrap(), src.to_str().unwrap()],
        );
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// `env::var` finds what glibc's `getenv` finds, in raw environments with duplicate
    /// names (the first wins), entries without `=`, an empty name, and names that are
    /// prefixes of others. (Names with `=`, which getenv matches against a longer entry and
    /// `env::var` refuses, as documented, are not asked.)
    #[test]
    fn env_var_agrees_with_getenv(env in proptest::collection::vec(entry(), 0..10)) {
        let args = common::example(common::Build::Release, "args");
        prop_assert_eq!(env_lines(&args, &env), env_lines(getenv_probe(), &env));
    }
}
