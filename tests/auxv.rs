//! The `auxv` example prints the auxiliary vector as glibc's `LD_SHOW_AUXV=1` does, and the
//! values agree with glibc's own print-out for a dynamic program (`/bin/true`) on every key
//! that does not change between processes.

mod common;
use common::{Build, example, run, stdout, tool};
use std::collections::BTreeMap;
use std::process::Command;

/// `AT_NAME` → number, from the libc crate (a source independent of ours); the two RSEQ
/// keys libc lacks come from the kernel's include/uapi/linux/auxvec.h.
fn key_number(name: &str) -> Option<u64> {
    let k = match name {
        "AT_IGNORE" => libc::AT_IGNORE,
        "AT_EXECFD" => libc::AT_EXECFD,
        "AT_PHDR" => libc::AT_PHDR,
        "AT_PHENT" => libc::AT_PHENT,
        "AT_PHNUM" => libc::AT_PHNUM,
        "AT_PAGESZ" => libc::AT_PAGESZ,
        "AT_BASE" => libc::AT_BASE,
        "AT_FLAGS" => libc::AT_FLAGS,
        "AT_ENTRY" => libc::AT_ENTRY,
        "AT_NOTELF" => libc::AT_NOTELF,
        "AT_UID" => libc::AT_UID,
        "AT_EUID" => libc::AT_EUID,
        "AT_GID" => libc::AT_GID,
        "AT_EGID" => libc::AT_EGID,
        "AT_PLATFORM" => libc::AT_PLATFORM,
        "AT_HWCAP" => libc::AT_HWCAP,
        "AT_CLKTCK" => libc::AT_CLKTCK,
        "AT_SECURE" => libc::AT_SECURE,
        "AT_BASE_PLATFORM" => libc::AT_BASE_PLATFORM,
        "AT_RANDOM" => libc::AT_RANDOM,
        "AT_HWCAP2" => libc::AT_HWCAP2,
        "AT_HWCAP3" => libc::AT_HWCAP3,
        "AT_HWCAP4" => libc::AT_HWCAP4,
        "AT_EXECFN" => libc::AT_EXECFN,
        "AT_SYSINFO_EHDR" => libc::AT_SYSINFO_EHDR,
        "AT_MINSIGSTKSZ" => libc::AT_MINSIGSTKSZ,
        "AT_RSEQ_FEATURE_SIZE" => 27,
        "AT_RSEQ_ALIGN" => 28,
        _ => return None,
    };
    Some(k)
}

/// Parses `LD_SHOW_AUXV`-style lines into key number → printed value.
fn parse(text: &str) -> BTreeMap<u64, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("AT_??? (0x") {
            // AT_??? (0x1b): 0x1c
            let (k, v) = rest
                .split_once("): ")
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            let k = u64::from_str_radix(k, 16).unwrap();
            m.insert(k, v.trim().to_owned());
            continue;
        }
        let (name, v) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let k = key_number(name).unwrap_or_else(|| panic!("unknown name {name:?} in {line:?}"));
        let col = name.len() + 1 + v.len() - v.trim_start().len();
        assert!(
            col == 22 || (col == name.len() + 2 && col > 22),
            "misaligned: {line:?}"
        );
        m.insert(k, v.trim().to_owned());
    }
    m
}

/// Values that glibc prints as `0x...` or bare hex or decimal, normalised to a number;
/// strings stay strings.
fn norm(key: u64, v: &str) -> String {
    if key == libc::AT_HWCAP {
        return u64::from_str_radix(v, 16)
            .map(|n| n.to_string())
            .unwrap_or(v.to_owned());
    }
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16)
            .map(|n| n.to_string())
            .unwrap_or(v.to_owned()),
        None => v.to_owned(),
    }
}

#[test]
fn auxv_agrees_with_glibc_ld_show_auxv() {
    let exe = example(Build::Release, "auxv");
    let ours_out = run(&exe, &[] as &[&str]);
    assert!(ours_out.status.success());
    let ours = parse(&stdout(&ours_out));

    let glibc_out = Command::new("/bin/true")
        .env("LD_SHOW_AUXV", "1")
        .output()
        .unwrap();
    let glibc = parse(&String::from_utf8(glibc_out.stdout).unwrap());
    assert!(glibc.len() > 15, "glibc printed too little: {glibc:?}");

    let ours_keys: Vec<_> = ours.keys().collect();
    let glibc_keys: Vec<_> = glibc.keys().collect();
    assert_eq!(ours_keys, glibc_keys, "different keys");

    for name in [
        "AT_PAGESZ",
        "AT_CLKTCK",
        "AT_HWCAP",
        "AT_HWCAP2",
        "AT_UID",
        "AT_EUID",
        "AT_GID",
        "AT_EGID",
        "AT_SECURE",
        "AT_PLATFORM",
        "AT_MINSIGSTKSZ",
    ] {
        let k = key_number(name).unwrap();
        let (Some(a), Some(b)) = (ours.get(&k), glibc.get(&k)) else {
            // Present in both or in neither (the key sets are equal): skip absent ones.
            continue;
        };
        assert_eq!(norm(k, a), norm(k, b), "{name}: ours {a:?}, glibc {b:?}");
    }
    // The stable keys above must really be there on this kernel, or the test is hollow.
    for name in [
        "AT_PAGESZ",
        "AT_CLKTCK",
        "AT_HWCAP",
        "AT_UID",
        "AT_SECURE",
        "AT_PLATFORM",
    ] {
        assert!(
            ours.contains_key(&key_number(name).unwrap()),
            "{name} missing"
        );
    }
}

#[test]
fn auxv_describes_this_program() {
    let exe = example(Build::Release, "auxv");
    let p = exe.to_str().unwrap();
    let ours = parse(&stdout(&run(&exe, &[] as &[&str])));
    let get = |n: &str| norm(key_number(n).unwrap(), &ours[&key_number(n).unwrap()]);

    assert_eq!(get("AT_EXECFN"), p);
    assert_eq!(get("AT_BASE"), "0", "a static program has no interpreter");
    let header = tool("readelf", &["-hW", p]);
    let entry = header
        .lines()
        .find(|l| l.contains("Entry point address:"))
        .unwrap();
    let entry = u64::from_str_radix(entry.split("0x").nth(1).unwrap().trim(), 16).unwrap();
    assert_eq!(get("AT_ENTRY"), entry.to_string());
    let phnum = header
        .lines()
        .find(|l| l.contains("Number of program headers:"))
        .unwrap();
    assert_eq!(get("AT_PHNUM"), phnum.split(':').nth(1).unwrap().trim());
    assert_ne!(get("AT_RANDOM"), "0");
    assert_ne!(get("AT_SYSINFO_EHDR"), "0");

    // AT_UID follows the real uid of the process (compare with the test's own).
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    assert_eq!(get("AT_UID"), uid.to_string());
}

#[test]
fn typed_getters_agree_with_the_raw_vector() {
    let exe = example(Build::Release, "auxv");
    let raw = parse(&stdout(&run(&exe, &[] as &[&str])));
    let raw = |n: &str| norm(key_number(n).unwrap(), &raw[&key_number(n).unwrap()]);
    let typed_text = stdout(&run(&exe, &["--typed"]));
    let typed: BTreeMap<&str, &str> = typed_text
        .lines()
        .map(|l| l.split_once(": ").expect("name: value"))
        .collect();

    assert_eq!(typed["page_size"], raw("AT_PAGESZ"));
    assert_eq!(typed["clock_ticks"], raw("AT_CLKTCK"));
    assert_eq!(typed["hwcap"], raw("AT_HWCAP"));
    assert_eq!(typed["hwcap2"], raw("AT_HWCAP2"));
    assert_eq!(typed["min_sigstack_size"], raw("AT_MINSIGSTKSZ"));
    assert_eq!(typed["entry"], raw("AT_ENTRY"));
    assert_eq!(typed["interpreter_base"], "0");
    assert_eq!(typed["secure"], "false");
    assert_eq!(typed["execfn"], exe.to_str().unwrap());
    assert_eq!(typed["platform"], raw("AT_PLATFORM"));
    assert_ne!(typed["sysinfo_ehdr"], "-");
    let ids = format!(
        "{} {} {} {}",
        raw("AT_UID"),
        raw("AT_EUID"),
        raw("AT_GID"),
        raw("AT_EGID")
    );
    assert_eq!(typed["ids"], ids);
    let ph = typed["program_headers"].split(' ').collect::<Vec<_>>();
    assert_eq!(ph, [raw("AT_PHDR"), raw("AT_PHENT"), raw("AT_PHNUM")]);
    // The page size is the one the C library reports.
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert_eq!(typed["page_size"], page.to_string());

    // AT_RANDOM: 16 bytes, different in every process.
    let r1 = typed["random"].to_owned();
    let again = stdout(&run(&exe, &["--typed"]));
    let r2 = again
        .lines()
        .find_map(|l| l.strip_prefix("random: "))
        .unwrap()
        .to_owned();
    assert_eq!(r1.len(), 32, "{r1}");
    assert!(r1.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(r1, r2, "AT_RANDOM repeated across processes");
}

#[test]
fn secure_is_true_for_a_setuid_start() {
    // AT_SECURE is 1 when exec raised privileges. Make the example setuid to a user other
    // than the one running it and run it as that one (needs root to set up; skipped with a
    // note otherwise).
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot set up a setuid run; AT_SECURE=1 untested");
        return;
    }
    let src = example(Build::Release, "auxv");
    let dir = common::root().join("target/tinyrt-tests/setuid");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("auxv-setuid");
    std::fs::copy(&src, &exe).unwrap();
    use std::os::unix::fs::PermissionsExt;
    // Owned by root, setuid; run as nobody (65534): euid becomes 0, AT_SECURE 1.
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .arg("--typed")
        .output()
        .expect("setpriv (util-linux)");
    let text = String::from_utf8(out.stdout).unwrap();
    if text.is_empty() && nosuid(&dir) {
        eprintln!("target/ is on a nosuid file system: AT_SECURE=1 untested");
        return;
    }
    assert!(text.contains("secure: true\n"), "{text}");
    assert!(text.contains("ids: 65534 0 65534 65534\n"), "{text}");
}

fn nosuid(dir: &std::path::Path) -> bool {
    let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: statvfs writes into the zeroed struct we own.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut st), 0);
        st.f_flag & libc::ST_NOSUID != 0
    }
}
