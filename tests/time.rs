//! The time API in library mode (tinyrt-rt inside this std test program): it finds the vDSO
//! through prctl(PR_GET_AUXV) or /proc/self/auxv, and every clock agrees with glibc's.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use tinyrt_rt::auxv;
use tinyrt_rt::time::{
    self, Backend, ClockId, Function, Instant, SystemTime, Timespec, UNIX_EPOCH,
};
use tinyrt_rt::{Errno, cpu};

fn glibc(clock: ClockId) -> Result<Timespec, i32> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    if unsafe { libc::clock_gettime(clock.raw(), &mut ts) } == 0 {
        Ok(Timespec::new(ts.tv_sec, ts.tv_nsec as u32).unwrap())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap())
    }
}

fn glibc_res(clock: ClockId) -> Result<Timespec, i32> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    if unsafe { libc::clock_getres(clock.raw(), &mut ts) } == 0 {
        Ok(Timespec::new(ts.tv_sec, ts.tv_nsec as u32).unwrap())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap())
    }
}

/// What `library_mode_finds_the_vdso_through_the_kernel` prints where the kernel's vDSO has
/// no getrandom (before Linux 6.11).
const NO_VDSO_GETRANDOM: &str = "this kernel's vDSO has no getrandom: the system call serves it";

/// Set in the re-run of `library_mode_finds_the_vdso_through_the_kernel` that
/// `before_linux_6_11_the_system_call_serves_getrandom` starts.
const CHILD: &str = "TINYRT_TESTS_TIME_NO_VDSO_GETRANDOM";

/// The check below on a kernel without the vDSO's getrandom, wherever the tests run: this
/// binary runs it again with the symbol renamed in its vDSO (ptrace), and it takes the
/// system-call branch and passes.
#[cfg(target_arch = "x86_64")]
#[test]
fn before_linux_6_11_the_system_call_serves_getrandom() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let out = common::ptrace::rerun_without_vdso_getrandom(
        "library_mode_finds_the_vdso_through_the_kernel",
        CHILD,
    );
    assert!(out.contains(NO_VDSO_GETRANDOM), "{out}");
}

#[test]
fn library_mode_finds_the_vdso_through_the_kernel() {
    assert!(
        matches!(
            auxv::source(),
            auxv::Source::Prctl | auxv::Source::ProcSelfAuxv
        ),
        "{:?}",
        auxv::source()
    );
    // SAFETY: getauxval has no preconditions.
    let ehdr = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    assert_eq!(auxv::sysinfo_ehdr(), Some(ehdr));
    // SAFETY: as above.
    let page = unsafe { libc::getauxval(libc::AT_PAGESZ) } as usize;
    assert_eq!(auxv::page_size(), Some(page));
    // getrandom is in x86_64's vDSO from Linux 6.11 (pyelftools on this process's vDSO
    // says whether this kernel's has it); before, the system call serves it.
    let vdso_getrandom = common::host_vdso_exports("__vdso_getrandom");
    for f in Function::ALL {
        match time::backend(f) {
            Backend::Syscall if f == Function::Getrandom && !vdso_getrandom => {
                println!("{NO_VDSO_GETRANDOM}");
                assert!(tinyrt_rt::random::fill(&mut [0u8; 16]).is_ok());
            }
            Backend::Vdso {
                symbol,
                version,
                address,
            } => {
                assert!(
                    f != Function::Getrandom || vdso_getrandom,
                    "{symbol} taken, yet pyelftools lists no __vdso_getrandom"
                );
                assert_eq!(version, "LINUX_2.6");
                assert!(symbol.starts_with("__vdso_"), "{symbol}");
                assert!(
                    address > ehdr && address < ehdr + 64 * 1024,
                    "{f:?} at {address:#x}"
                );
            }
            Backend::Syscall => panic!("{f:?} is not served by the vDSO on x86_64"),
        }
        // The lookup the dispatch used finds the same address.
        if let (
            Backend::Vdso {
                symbol, address, ..
            },
            Some(s),
        ) = (time::backend(f), f.symbol())
        {
            assert_eq!(symbol, s);
            assert_eq!(tinyrt_rt::vdso::find(s), Some(address), "{f:?}");
        }
    }
}

#[test]
fn every_clock_agrees_with_glibc() {
    for (clock, name) in ClockId::ALL {
        let before = glibc(clock);
        let ours = time::clock_gettime(clock);
        let after = glibc(clock);
        match (before, ours, after) {
            (Ok(b), Ok(o), Ok(a)) => {
                assert!(b <= o && o <= a, "{name}: {b:?} <= {o:?} <= {a:?}");
            }
            (Err(e), Err(o), Err(_)) => assert_eq!(o.raw(), e, "{name}"),
            other => panic!("{name}: glibc and tinyrt disagree: {other:?}"),
        }
        // The raw system call too.
        let before = glibc(clock);
        let sys = time::syscall::clock_gettime(clock);
        let after = glibc(clock);
        match (before, sys, after) {
            (Ok(b), Ok(o), Ok(a)) => assert!(b <= o && o <= a, "{name} (syscall)"),
            (Err(e), Err(o), Err(_)) => assert_eq!(o.raw(), e, "{name} (syscall)"),
            other => panic!("{name} (syscall): {other:?}"),
        }
    }
}

#[test]
fn resolutions_equal_glibcs() {
    for (clock, name) in ClockId::ALL {
        match (glibc_res(clock), time::clock_getres(clock)) {
            (Ok(g), Ok(o)) => assert_eq!(o, g, "{name}"),
            (Err(e), Err(o)) => assert_eq!(o.raw(), e, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(
            time::syscall::clock_getres(clock).map_err(|e| e.raw()),
            glibc_res(clock),
            "{name} (syscall)"
        );
    }
}

#[test]
fn dynamic_clocks_agree_with_glibc() {
    // This process's and this thread's CPU clocks by id, as glibc builds them.
    let mut id: libc::clockid_t = 0;
    // SAFETY: id is ours; 0 is this process.
    assert_eq!(unsafe { libc::clock_getcpuclockid(0, &mut id) }, 0);
    let ours = ClockId::process_cputime(0);
    let b = glibc(ClockId::from_raw(id)).unwrap();
    let o = time::clock_gettime(ours).unwrap();
    let a = glibc(ClockId::from_raw(id)).unwrap();
    assert!(b <= o && o <= a);
    // SAFETY: pthread_self is always valid.
    let r = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    assert_eq!(r, 0);
    // This thread's clock by glibc's id, and ours by `thread_cputime(0)`: the same clock.
    let glibc_thread = ClockId::from_raw(id);
    let b = glibc(glibc_thread).unwrap();
    let t = time::clock_gettime(ClockId::thread_cputime(0)).unwrap();
    let a = glibc(glibc_thread).unwrap();
    assert!(b <= t && t <= a, "{b:?} <= {t:?} <= {a:?}");
    // A clock of another process: pid 1 exists; reading its CPU clock is allowed or not as
    // the kernel decides, and glibc must see the same.
    let pid1 = ClockId::process_cputime(1);
    match (glibc(pid1), time::clock_gettime(pid1)) {
        (Ok(_), Ok(_)) => {}
        (Err(e), Err(o)) => assert_eq!(o.raw(), e),
        other => panic!("pid 1: {other:?}"),
    }
}

#[test]
fn bad_clock_ids_are_errors_not_crashes() {
    // A closed file descriptor as a dynamic clock, an unknown id, -1.
    let fd = std::fs::File::open("/dev/null")
        .map(std::os::fd::IntoRawFd::into_raw_fd)
        .unwrap();
    // SAFETY: we own fd.
    unsafe { libc::close(fd) };
    for clock in [
        ClockId::from_raw(12345),
        ClockId::from_raw(-1),
        ClockId::from_fd(fd),
        ClockId::from_raw(i32::MIN),
    ] {
        let g = glibc(clock).expect_err("glibc accepted it");
        let o = time::clock_gettime(clock).expect_err("tinyrt accepted it");
        assert_eq!(o.raw(), g, "{clock:?}");
        assert!(o == Errno::EINVAL || o == Errno::EBADF, "{clock:?}: {o}");
        let g = glibc_res(clock).expect_err("glibc accepted it");
        assert_eq!(time::clock_getres(clock).unwrap_err().raw(), g, "{clock:?}");
    }
}

#[test]
fn realtime_agrees_with_gettimeofday_and_time() {
    for _ in 0..1000 {
        let a = time::clock_gettime(ClockId::REALTIME).unwrap();
        let tv = time::gettimeofday().unwrap();
        let b = time::clock_gettime(ClockId::REALTIME).unwrap();
        let us = i128::from(tv.sec()) * 1_000_000 + i128::from(tv.usec());
        assert!(
            a.as_nanos() / 1000 <= us && us <= b.as_nanos() / 1000,
            "{a:?} {tv:?} {b:?}"
        );

        // time() reads the coarse clock's seconds: it lies between two coarse readings.
        let a = time::clock_gettime(ClockId::REALTIME_COARSE).unwrap();
        let t = time::time();
        let b = time::clock_gettime(ClockId::REALTIME_COARSE).unwrap();
        assert!(a.sec() <= t && t <= b.sec(), "{a:?} {t} {b:?}");
        // SAFETY: time(NULL) has no preconditions.
        let g = unsafe { libc::time(std::ptr::null_mut()) };
        assert!((g - t).abs() <= 1, "glibc {g}, ours {t}");
    }
    let g = time::syscall::gettimeofday().unwrap();
    let t = time::syscall::time().unwrap();
    assert!((t - g.sec()).abs() <= 1);
}

#[test]
fn monotonic_never_goes_backwards_over_ten_million_reads() {
    let mut last = time::clock_gettime(ClockId::MONOTONIC).unwrap();
    for _ in 0..10_000_000 {
        let now = time::clock_gettime(ClockId::MONOTONIC).unwrap();
        assert!(now >= last, "{now:?} < {last:?}");
        last = now;
    }
}

#[test]
fn monotonic_never_goes_backwards_across_four_threads() {
    // Each thread reads the latest value any thread published, then the clock: the clock
    // read happens after the publisher's read, so it may not be smaller.
    static LATEST: AtomicI64 = AtomicI64::new(0);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..500_000 {
                    let seen = LATEST.load(Ordering::Acquire);
                    let now = time::clock_gettime(ClockId::MONOTONIC).unwrap().as_nanos() as i64;
                    assert!(now >= seen, "{now} < {seen} published by another thread");
                    LATEST.fetch_max(now, Ordering::AcqRel);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn getcpu_agrees_with_glibc() {
    let mut agree = 0;
    for _ in 0..1000 {
        // SAFETY: sched_getcpu has no preconditions.
        let g = unsafe { libc::sched_getcpu() };
        let (c, node) = cpu::getcpu().unwrap();
        let (sc, snode) = cpu::syscall_getcpu().unwrap();
        assert_eq!(node, snode);
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        assert!(c < 4096 && sc < 4096 && (c < ncpu.max(64)));
        agree += (g as u32 == c) as u32;
    }
    // The thread may migrate between the two reads, but not every time.
    assert!(
        agree > 500,
        "only {agree} of 1000 reads agreed with sched_getcpu"
    );
}

#[test]
fn instant_and_system_time_behave_like_std() {
    let a = Instant::now();
    let std_a = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let e = a.elapsed();
    let std_e = std_a.elapsed();
    assert!(e >= std::time::Duration::from_millis(20), "{e:?}");
    assert!(
        e <= std_e + std::time::Duration::from_millis(5),
        "{e:?} vs std {std_e:?}"
    );
    let b = Instant::now();
    assert_eq!(
        a.duration_since(b),
        std::time::Duration::ZERO,
        "saturates like std"
    );
    assert_eq!(a.checked_duration_since(b), None);
    assert!(b.checked_duration_since(a).is_some());
    let c = a.checked_add(std::time::Duration::from_secs(1)).unwrap();
    assert_eq!(c - a, std::time::Duration::from_secs(1));
    assert_eq!(c.checked_sub(std::time::Duration::from_secs(1)), Some(a));
    assert_eq!(a.checked_add(std::time::Duration::MAX), None);

    let ours = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let std_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert!(std_now.abs_diff(ours) < std::time::Duration::from_secs(1));
    let s = SystemTime::now();
    let earlier = s - std::time::Duration::from_secs(3);
    assert_eq!(
        s.duration_since(earlier),
        Ok(std::time::Duration::from_secs(3))
    );
    assert_eq!(
        earlier.duration_since(s).unwrap_err().duration(),
        std::time::Duration::from_secs(3)
    );
    let before_epoch = UNIX_EPOCH
        .checked_sub(std::time::Duration::new(1, 500_000_000))
        .unwrap();
    assert_eq!(
        before_epoch.to_timespec(),
        Timespec::new(-2, 500_000_000).unwrap()
    );
    assert_eq!(
        SystemTime::from_timespec(before_epoch.to_timespec()),
        before_epoch
    );
    assert_eq!(UNIX_EPOCH.checked_add(std::time::Duration::MAX), None);
}
