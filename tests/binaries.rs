//! Every example is a static ELF executable that needs nothing at run time: checked with
//! binutils' readelf on every build (release, size mode, release with symbols, debug), not
//! inferred from the build flags.

mod common;
use common::{Build, example, example_names, tool};

fn check_static(b: Build, name: &str) {
    let path = example(b, name);
    check_static_file(&path, &format!("{name} ({b:?})"), b);
}

fn check_static_file(path: &std::path::Path, what: &str, b: Build) {
    let p = path.to_str().unwrap();

    let header = tool("readelf", &["-hW", p]);
    assert!(
        header.contains("EXEC (Executable file)"),
        "{what}: not ET_EXEC:\n{header}"
    );

    let segments = tool("readelf", &["-lW", p]);
    let loads: Vec<&str> = segments
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD"))
        .collect();
    assert!(
        !segments.contains("INTERP"),
        "{what}: has PT_INTERP:\n{segments}"
    );
    assert!(
        !segments.contains("DYNAMIC"),
        "{what}: has PT_DYNAMIC:\n{segments}"
    );
    assert!(!segments.contains("TLS"), "{what}: has PT_TLS:\n{segments}");
    assert!(
        (1..=2).contains(&loads.len()),
        "{what}: expected 1-2 PT_LOAD:\n{segments}"
    );
    for l in &loads {
        let flags = flags_of(l);
        assert!(
            !(flags.contains('W') && flags.contains('E')),
            "{what}: W+X segment: {l}"
        );
    }
    assert!(
        loads.iter().any(|l| flags_of(l) == "R E"),
        "{what}: no R+X load holding the code:\n{segments}"
    );
    let stack = segments
        .lines()
        .find(|l| l.trim_start().starts_with("GNU_STACK"))
        .unwrap_or_else(|| panic!("{what}: no PT_GNU_STACK:\n{segments}"));
    assert_eq!(flags_of(stack), "RW", "{what}: stack flags: {stack}");

    let dynamic = tool("readelf", &["-dW", p]);
    assert!(
        dynamic.contains("no dynamic section"),
        "{what}: dynamic section:\n{dynamic}"
    );
    assert!(!dynamic.contains("NEEDED"), "{what}: DT_NEEDED:\n{dynamic}");

    let sections = tool("readelf", &["-SW", p]);
    for s in [
        ".interp",
        ".dynsym",
        ".dynstr",
        ".rela.dyn",
        ".init_array",
        ".eh_frame",
    ] {
        assert!(
            !sections.contains(&format!("{s} ")),
            "{what}: has {s}:\n{sections}"
        );
    }
    if b == Build::Size {
        assert!(
            sections.contains("no sections"),
            "{what}: size mode has sections:\n{sections}"
        );
    }

    if matches!(b, Build::Syms | Build::Debug) {
        check_symbols(path, what);
    }
}

fn check_symbols(path: &std::path::Path, what: &str) {
    let p = path.to_str().unwrap();
    {
        let syms = tool("readelf", &["-sW", p]);
        // The check below could not fail without a symbol table: make sure there is one.
        assert!(
            syms.contains(" _start"),
            "{what}: no symbol table with _start:\n{syms}"
        );
        let mut undefined = Vec::new();
        for l in syms.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Num: Value Size Type Bind Vis Ndx Name
            if f.len() >= 8 && f[0].ends_with(':') && f[0] != "0:" && f[6] == "UND" {
                undefined.push(l.to_owned());
            }
        }
        assert!(
            undefined.is_empty(),
            "{what}: undefined symbols:\n{}",
            undefined.join("\n")
        );
        for libc in [
            "GLIBC",
            "__libc_",
            "_IO_",
            " malloc",
            " printf",
            " __errno_location",
        ] {
            assert!(
                !syms.contains(libc),
                "{what}: a libc symbol ({libc}):\n{syms}"
            );
        }
    }
}

fn flags_of(line: &str) -> String {
    // readelf -lW: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align, where Flg is
    // one to three columns ("R E", "RW", "R").
    let f: Vec<&str> = line.split_whitespace().collect();
    f[6..f.len() - 1].join(" ")
}

#[test]
fn release_examples_are_static() {
    for n in example_names() {
        check_static(Build::Release, &n);
    }
}

#[test]
fn size_mode_examples_are_static() {
    for n in example_names() {
        check_static(Build::Size, &n);
    }
}

#[test]
fn release_with_symbols_has_no_undefined_or_libc_symbols() {
    for n in example_names() {
        check_static(Build::Syms, &n);
    }
}

#[test]
fn debug_examples_are_static_and_run() {
    for n in example_names() {
        check_static(Build::Debug, &n);
    }
    // Debug builds link (above) and run.
    let out = common::run(&example(Build::Debug, "hello"), &[] as &[&str]);
    assert_eq!(common::stdout(&out), "Hello, world!\n");
    let out = common::run(&example(Build::Debug, "args"), &["x"]);
    assert!(common::stdout(&out).contains("argv[1]: \"x\"\n"));
    let out = common::run(&example(Build::Debug, "panic"), &["debug"]);
    assert_eq!(out.status.code(), Some(101));
}

#[test]
fn the_checks_reject_a_dynamic_c_program() {
    // A control: the same checks on a dynamically linked glibc program must fail, or they
    // prove nothing. Compile one with the system's C compiler.
    let dir = common::root().join("target/tinyrt-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("control.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n",
    )
    .unwrap();
    let exe = dir.join("control");
    tool(
        "cc",
        &[
            "-O2",
            "-no-pie",
            "-o",
            exe.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
    let r = std::panic::catch_unwind(|| check_static_file(&exe, "control", Build::Syms));
    let msg = r.expect_err("a dynamic glibc program passed the static checks");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("PT_INTERP"),
        "failed for another reason: {msg}"
    );
    // And a static glibc program fails on its libc symbols.
    let sexe = dir.join("control-static");
    tool(
        "cc",
        &[
            "-O2",
            "-static",
            "-o",
            sexe.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
    let r = std::panic::catch_unwind(|| check_static_file(&sexe, "control-static", Build::Syms));
    let msg = r.expect_err("a static glibc program passed the checks");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("PT_TLS"), "{msg}");
    let r = std::panic::catch_unwind(|| check_symbols(&sexe, "control-static"));
    let msg = r.expect_err("a static glibc program passed the symbol checks");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("libc symbol") || msg.contains("undefined"),
        "{msg}"
    );
}
