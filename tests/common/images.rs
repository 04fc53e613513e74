//! vDSO images to inspect: linked here from tests/images, or the committed dumps.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::build::root;

/// A vDSO-shaped image the tests link themselves from tests/images/vdso.s.
#[derive(Clone, Debug)]
pub struct Image {
    /// e.g. "elf64-gnu-LINUX_2.6", "elf64be-sysv-unversioned-oneload".
    pub name: String,
    pub path: PathBuf,
    /// ELFDATA2MSB (the s390 images).
    pub big_endian: bool,
    /// "gnu", "sysv" or "both".
    pub hash: &'static str,
    /// The version the exported symbols carry, or None for an unversioned image.
    pub version: Option<&'static str>,
}

/// Links every variant once per test process with binutils (as, ld): both classes in both
/// byte orders (little-endian: the host's x86_64 and i386; big-endian: Debian's cross
/// binutils-s390x-linux-gnu, ELF64 s390x, whose DT_HASH entries are 8 bytes, and ELF32
/// s390, `-m31`, whose are 4); GNU hash only (like arm64 since 2024), SysV only, both;
/// versioned (LINUX_2.6, with a hidden LINUX_2.5 symbol), unversioned, and versioned with
/// another version (LINUX_4.15); one variant in a single code segment
/// (-z noseparate-code), and a few in one PT_LOAD (-N).
pub fn vdso_images() -> &'static [Image] {
    static IMAGES: OnceLock<Vec<Image>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let src = root().join("tests/images");
        let out = root().join("target/tinyrt-tests/images");
        std::fs::create_dir_all(&out).unwrap();
        let mut v = Vec::new();
        let s390 = ("s390x-linux-gnu-as", "s390x-linux-gnu-ld");
        for (class, (as_cmd, ld_cmd), as_flag, ld_emul) in [
            ("elf64", ("as", "ld"), "--64", "elf_x86_64"),
            ("elf32", ("as", "ld"), "--32", "elf_i386"),
            ("elf64be", s390, "-m64", "elf64_s390"),
            ("elf32be", s390, "-m31", "elf_s390"),
        ] {
            let variants: [(&str, Option<&str>, &[&str]); 11] = [
                ("both", Some("LINUX_2.6"), &[]),
                ("gnu", Some("LINUX_2.6"), &[]),
                ("sysv", Some("LINUX_2.6"), &[]),
                ("gnu", None, &[]),
                ("sysv", None, &[]),
                ("both", Some("LINUX_4.15"), &[]),
                ("both", Some("LINUX_2.6"), &["-z", "noseparate-code"]),
                // One PT_LOAD (ld -N), the shape of every real vDSO, for the small lookup.
                ("gnu", Some("LINUX_2.6"), &["-N"]),
                ("sysv", Some("LINUX_2.6"), &["-N"]),
                ("gnu", None, &["-N"]),
                ("both", Some("LINUX_4.15"), &["-N"]),
            ];
            for (hash, version, extra) in variants {
                let name = format!(
                    "{class}-{hash}-{}{}",
                    version.unwrap_or("unversioned"),
                    match extra {
                        [] => "",
                        ["-N"] => "-oneload",
                        _ => "-onecode",
                    }
                );
                let obj = out.join(format!("{name}.o"));
                let so = out.join(format!("{name}.so"));
                let mut a = Command::new(as_cmd);
                a.arg(as_flag).arg("-o").arg(&obj);
                if version.is_none() {
                    a.args(["--defsym", "UNVERSIONED=1"]);
                }
                run_ok(a.arg(src.join("vdso.s")));
                let mut l = Command::new(ld_cmd);
                l.args(["-m", ld_emul, "-shared", "-soname", "linux-vdso.so.1"])
                    .arg(format!("--hash-style={hash}"))
                    .args(extra)
                    .arg("-o")
                    .arg(&so);
                match version {
                    Some("LINUX_2.6") => l.arg("--version-script").arg(src.join("versions.lds")),
                    Some(_) => l.arg("--version-script").arg(src.join("other-version.lds")),
                    None => &mut l,
                };
                run_ok(l.arg(&obj));
                v.push(Image {
                    name,
                    path: so,
                    big_endian: class.ends_with("be"),
                    hash,
                    version,
                });
            }
        }
        v
    })
}

fn run_ok(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| {
        panic!("{c:?}: {e} (install binutils and binutils-s390x-linux-gnu: scripts/test)")
    });
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The committed vDSO dumps (tests/fixtures/vdso/*.so), sorted.
pub fn vdso_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/vdso"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "so"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// pyelftools' listing of an image (tests/tools/vdso_symbols.py), in the inspector's format.
pub fn pyelftools_list(path: &Path) -> String {
    let out = Command::new("python3")
        .arg(root().join("tests/tools/vdso_symbols.py"))
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyelftools failed on {} (scripts/test installs it): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whether this process's own vDSO (the kernel's, as every program here gets it) exports
/// `name` (any version), by pyelftools on a copy of the `[vdso]` mapping read through
/// /proc/self/mem: what a kernel feature's presence is decided by (vDSO getrandom: Linux
/// 6.11+ on x86_64), without asking the code under test.
pub fn host_vdso_exports(name: &str) -> bool {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let Some(range) = maps
        .lines()
        .find(|l| l.ends_with("[vdso]"))
        .and_then(|l| l.split(' ').next())
    else {
        return false;
    };
    let (start, end) = range.split_once('-').unwrap();
    let start = u64::from_str_radix(start, 16).unwrap();
    let end = u64::from_str_radix(end, 16).unwrap();
    let mut image = vec![0u8; (end - start) as usize];
    std::fs::File::open("/proc/self/mem")
        .unwrap()
        .read_exact_at(&mut image, start)
        .unwrap();
    let dump = root().join(format!(
        "target/tinyrt-tests/host-vdso-{}.so",
        std::process::id()
    ));
    std::fs::create_dir_all(dump.parent().unwrap()).unwrap();
    std::fs::write(&dump, &image).unwrap();
    let listed = pyelftools_list(&dump);
    let _ = std::fs::remove_file(&dump);
    listed.lines().any(|l| l.starts_with(&format!("{name}@")))
}
