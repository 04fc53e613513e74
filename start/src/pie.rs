//! Static-PIE: the program relocates itself (tinyrt's `pie` feature, linked with
//! `link-pie.x`).
//!
//! The kernel maps an ET_DYN program without an interpreter at a random base and jumps to
//! `_start`; nobody has applied its relocations. Until they are, every static that holds an
//! address (a function pointer, a `&str` in a table, a vtable, a GOT entry) holds its
//! link-time value, which is wrong by the load base. So `entry` calls [`relocate`] before
//! anything else, and `relocate` itself reads no static, takes no address from the GOT and
//! calls nothing that does: it is inlined, its arithmetic wraps, and it reads only the
//! kernel's stack and the linker's tables. (In unoptimised builds the compiler adds checks
//! of its own, for pointer alignment and integer overflow, whose panic paths would go
//! through the unrelocated GOT; they cannot trigger on a stack the kernel built and tables
//! the linker wrote. The tests run the unoptimised build natively on x86_64 and i686.)
//!
//! 1. the load base: walk the initial stack to the auxiliary vector (tinyrt-rt's one walk,
//!    `auxv_start`, inlined), take AT_PHDR (where the kernel mapped the program headers)
//!    and subtract PT_PHDR's link-time address;
//! 2. the dynamic section: PT_DYNAMIC's address plus the base; from it DT_RELA/DT_RELASZ
//!    (x86_64, aarch64, riscv64), DT_REL/DT_RELSZ (i686, arm) and DT_RELR/DT_RELRSZ (with
//!    `-z pack-relative-relocs`);
//! 3. apply them: every entry must be the architecture's R_*_RELATIVE (word = base +
//!    addend, or word += base for REL and RELR) or R_*_NONE. Anything else (an import, a
//!    TLS relocation) is reported after the stack is recorded, with exit status 127,
//!    before `main`.
//!
//! The words are read and written by `arch::relocation_load` and `arch::relocation_store`
//! (an `asm!` load and store each, per architecture), never by Rust: see below.
//!
//! After `init`, [`finish`] makes the PT_GNU_RELRO pages (.data.rel.ro, .dynamic, .got)
//! read-only with one mprotect, as a dynamic loader would.
//!
//! # Outside Rust's memory model
//!
//! The relocated words belong to statics Rust believes immutable (`.data.rel.ro`, the GOT)
//! or already initialised: no Rust store may change them, and LLVM treats the immutable
//! ones as constant memory, which nothing ever writes. So the relocator never reads or
//! writes them as Rust: each access is an `asm!` block that may touch any memory, as a
//! loader running before the program would (the idea is origin's `relocation_load` and
//! `relocation_store`; tests/relocation_stores.rs single-steps a PIE build to `main` and
//! finds every write into a relocated word at one of those stores). After the loops: - a
//! `compiler_fence(SeqCst)`: nothing of Rust's own moves above it (the asm blocks, not
//! `nomem`, are already barriers for the memory Rust tracks); - `entry` runs the rest of
//! the program (`init`, `main`) in a function of its own that is never inlined into it: a
//! load of constant memory may be hoisted across any store, asm or fence, but not out of
//! the function that holds it, which is called after the loops; - no hardware fence: one
//! thread relocates and then reads, and a CPU sees its own stores in program order; no
//! other thread or signal handler exists yet; - no instruction barrier (cache flush, `isb`,
//! `fence.i`, `isync`): only data is written. The link's `-z text` (build.rs) refuses
//! relocations in code, and `.text` is never written.
//!
//! Learned from: the ELF gABI and the psABIs (relocation types), the RELR proposal on the
//! generic-abi list (the bitmap encoding), and the shape of musl's `rcrt1`/`dlstart` and
//! glibc's `_dl_relocate_static_pie`; the code is ours.
//!
//! # Safety
//!
//! `relocate` trusts the kernel's initial stack and the program's own headers and dynamic
//! section, which the linker wrote and the kernel mapped: it writes only to addresses that
//! the program's relocations name, which lie in its writable segments.

use crate::arch::{R_RELATIVE, relocation_load, relocation_store};
use core::sync::atomic::{Ordering, compiler_fence};
use linux_raw_sys::auxvec::{AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHNUM};
use linux_raw_sys::elf::{
    DT_NULL, DT_REL, DT_RELA, DT_RELASZ, DT_RELSZ, Elf_Dyn, Elf_Phdr, Elf_Rel, Elf_Rela,
    PT_DYNAMIC, PT_GNU_RELRO, PT_PHDR,
};

/// DT_RELRSZ, DT_RELR (not in linux-raw-sys).
const DT_RELRSZ: usize = 35;
const DT_RELR: usize = 36;

/// What [`relocate`] found: the relro range to protect, or the relocation it refused.
pub struct Outcome {
    relro_start: usize,
    relro_end: usize,
    /// 0, or (type + 1) of the first relocation that is not relative.
    refused: u32,
    /// AT_PAGESZ (4096 if the kernel gave none).
    page: usize,
}

/// Applies the program's relative relocations. See the module documentation.
///
/// # Safety
/// `sp` is the initial stack pointer the kernel gave `_start`; nothing has run before, and
/// the program was linked with `link-pie.x`.
#[inline(always)]
pub unsafe fn relocate(sp: *const usize) -> Outcome {
    let mut out = Outcome {
        relro_start: 0,
        relro_end: 0,
        refused: 0,
        page: 4096,
    };
    // SAFETY: the caller's contract.
    let (phdr, phnum) = unsafe { from_auxv(sp, &mut out.page) };
    // SAFETY: AT_PHDR and AT_PHNUM describe the headers the kernel mapped.
    let h = unsafe { from_program_headers(phdr, phnum) };
    let (Some(base), dynamic @ 1..) = (h.base, h.dynamic) else {
        // Not linked with link-pie.x: nothing to do (and nothing to protect).
        return out;
    };
    out.relro_start = h.relro_start.wrapping_add(base);
    out.relro_end = h.relro_end.wrapping_add(base);
    // SAFETY: PT_DYNAMIC's address plus the base is the program's own dynamic section.
    let t = unsafe { tables(base, dynamic) };
    // SAFETY: the tables the dynamic section names, inside the mapped image, naming words in
    // its writable segments.
    unsafe {
        apply(base, t.rela, t.rela_size, true, &mut out.refused);
        apply(base, t.rel, t.rel_size, false, &mut out.refused);
        apply_relr(base, t.relr, t.relr_size);
    }
    // Nothing of Rust's own may move above the relocation (see "Outside Rust's memory
    // model" above); the asm stores are already barriers for memory Rust may see written.
    compiler_fence(Ordering::SeqCst);
    out
}

/// AT_PHDR and AT_PHNUM from the auxiliary vector, found with the stack module's walk
/// (inlined, touching no static); AT_PAGESZ into `page` if it is a power of two.
///
/// # Safety
/// `sp` is the kernel's initial stack pointer.
#[inline(always)]
unsafe fn from_auxv(sp: *const usize, page: &mut usize) -> (usize, usize) {
    let (mut phdr, mut phnum) = (0, 0);
    // SAFETY: the walk and every read stay inside the kernel's argc/argv/envp/auxv layout,
    // up to AT_NULL.
    unsafe {
        let mut p = tinyrt_rt::__private_start::auxv_start(sp);
        while *p != AT_NULL as usize {
            match *p as u32 {
                AT_PHDR => phdr = *p.wrapping_add(1),
                AT_PHNUM => phnum = *p.wrapping_add(1),
                AT_PAGESZ if (*p.wrapping_add(1)).is_power_of_two() => *page = *p.wrapping_add(1),
                _ => {}
            }
            p = p.wrapping_add(2);
        }
    }
    (phdr, phnum)
}

/// What the program headers say: the load base (AT_PHDR minus PT_PHDR's address),
/// PT_DYNAMIC's link-time address, and PT_GNU_RELRO's link-time range.
struct Headers {
    base: Option<usize>,
    /// Zero without a PT_DYNAMIC (no segment starts at address zero: the headers do).
    dynamic: usize,
    relro_start: usize,
    relro_end: usize,
}

/// Reads the program headers.
///
/// # Safety
/// `phdr` points at `phnum` program headers (the kernel's AT_PHDR and AT_PHNUM).
#[inline(always)]
unsafe fn from_program_headers(phdr: usize, phnum: usize) -> Headers {
    let mut h = Headers {
        base: None,
        dynamic: 0,
        relro_start: 0,
        relro_end: 0,
    };
    let mut i = 0;
    while i < phnum {
        // SAFETY: i < phnum: one of the headers (caller).
        let ph = unsafe { &*(phdr as *const Elf_Phdr).wrapping_add(i) };
        match ph.p_type {
            PT_PHDR => h.base = Some(phdr.wrapping_sub(ph.p_vaddr)),
            PT_DYNAMIC => h.dynamic = ph.p_vaddr,
            PT_GNU_RELRO => {
                h.relro_start = ph.p_vaddr;
                h.relro_end = ph.p_vaddr.wrapping_add(ph.p_memsz);
            }
            _ => {}
        }
        i = i.wrapping_add(1);
    }
    h
}

/// The relocation tables the dynamic section names: addresses (moved by the base) and sizes.
struct Tables {
    rela: usize,
    rela_size: usize,
    rel: usize,
    rel_size: usize,
    relr: usize,
    relr_size: usize,
}

/// DT_RELA/DT_RELASZ (x86_64, aarch64, riscv64), DT_REL/DT_RELSZ (i686, arm) and
/// DT_RELR/DT_RELRSZ from the dynamic section at `dynamic` + `base`.
///
/// # Safety
/// `base + dynamic` is the program's own dynamic section, ended by DT_NULL.
#[inline(always)]
unsafe fn tables(base: usize, dynamic: usize) -> Tables {
    let mut t = Tables {
        rela: 0,
        rela_size: 0,
        rel: 0,
        rel_size: 0,
        relr: 0,
        relr_size: 0,
    };
    let mut d = base.wrapping_add(dynamic) as *const Elf_Dyn;
    // SAFETY: entries of the dynamic section up to its DT_NULL (caller).
    unsafe {
        while (*d).d_tag != DT_NULL {
            let v = (*d).d_un.d_ptr;
            match (*d).d_tag {
                DT_RELA => t.rela = base.wrapping_add(v),
                DT_RELASZ => t.rela_size = v,
                DT_REL => t.rel = base.wrapping_add(v),
                DT_RELSZ => t.rel_size = v,
                DT_RELR => t.relr = base.wrapping_add(v),
                DT_RELRSZ => t.relr_size = v,
                _ => {}
            }
            d = d.wrapping_add(1);
        }
    }
    t
}

/// Applies a DT_RELR table of `size` bytes at `table`: an even word is an address to
/// relocate (and the next word's place); an odd word is a bitmap of the next word-size - 1
/// words after the place, bit 1 first.
///
/// # Safety
/// `table` is the program's own RELR table, naming words in its writable segments.
#[inline(always)]
unsafe fn apply_relr(base: usize, table: usize, size: usize) {
    let w = size_of::<usize>();
    let mut e = table as *const usize;
    let end = table.wrapping_add(size) as *const usize;
    let mut place = 0usize;
    while e < end {
        // SAFETY: `e` is an entry of the table; `place` and `at` are words it names (caller).
        unsafe {
            let word = *e;
            if word & 1 == 0 {
                place = base.wrapping_add(word);
                relocation_store(place, relocation_load(place).wrapping_add(base));
                place = place.wrapping_add(w);
            } else {
                let mut bits = word >> 1;
                let mut at = place;
                while bits != 0 {
                    if bits & 1 != 0 {
                        relocation_store(at, relocation_load(at).wrapping_add(base));
                    }
                    bits >>= 1;
                    at = at.wrapping_add(w);
                }
                place = place.wrapping_add((8 * w - 1) * w);
            }
        }
        e = e.wrapping_add(1);
    }
}

/// Applies a RELA table (`addend`: the new word is base + r_addend) or a REL table (the
/// word in place is the addend) of `size` bytes at `table`; records in `refused` (type + 1)
/// the first entry that is neither R_*_RELATIVE nor R_*_NONE.
///
/// # Safety
/// As `relocate`: `table` is the program's own relocation table, mapped, naming words in
/// its writable segments.
#[inline(always)]
unsafe fn apply(base: usize, table: usize, size: usize, addend: bool, refused: &mut u32) {
    // An Elf_Rela begins with an Elf_Rel (r_offset, r_info): one loop reads both.
    let step = if addend {
        size_of::<Elf_Rela>()
    } else {
        size_of::<Elf_Rel>()
    };
    let (mut e, end) = (table, table.wrapping_add(size));
    while e < end {
        // SAFETY: `e` is an entry of the table (caller), at least an Elf_Rel, and an
        // Elf_Rela when `addend`; `at` is the word it names (caller).
        unsafe {
            let r = &*(e as *const Elf_Rel);
            match r.type_() {
                R_RELATIVE => {
                    let at = base.wrapping_add(r.r_offset);
                    let add = if addend {
                        (*(e as *const Elf_Rela)).r_addend
                    } else {
                        relocation_load(at)
                    };
                    relocation_store(at, base.wrapping_add(add));
                }
                0 => {}
                t if *refused == 0 => *refused = t.wrapping_add(1),
                _ => {}
            }
        }
        e = e.wrapping_add(step);
    }
}

/// After `init`: stops with exit status 127 if a relocation was refused, else makes the
/// relro pages read-only (a failure there, from a sandbox say, leaves them writable).
#[inline(always)]
pub fn finish(o: Outcome) {
    if o.refused != 0 {
        refuse(o.refused - 1);
    }
    let page = o.page;
    let start = o.relro_start & !(page - 1);
    let end = o.relro_end.wrapping_add(page - 1) & !(page - 1);
    if o.relro_end > o.relro_start && end > start {
        let nr = linux_raw_sys::general::__NR_mprotect as usize;
        let prot = linux_raw_sys::general::PROT_READ as usize;
        // SAFETY: the relro pages hold only .data.rel.ro, .dynamic and .got, which nothing
        // writes after relocation; link-pie.x gives them pages of their own.
        let _ = unsafe { tinyrt_rt::syscall::syscall3(nr, start, end - start, prot) };
    }
}

/// Says which relocation type stopped the program and exits with 127. By hand, without
/// core::fmt: a static-PIE `tiny` should stay small.
#[cold]
#[inline(never)]
fn refuse(kind: u32) -> ! {
    const HEAD: &[u8] = b"tinyrt: cannot start: relocation type ";
    const TAIL: &[u8] =
        b" is not relative (a static-PIE program may only have R_*_RELATIVE relocations)\n";
    let mut msg = [0u8; 160];
    let mut digits = [0u8; 10];
    let (mut n, mut t) = (0, kind);
    loop {
        if let Some(d) = digits.get_mut(9 - n) {
            *d = b'0' + (t % 10) as u8;
        }
        n += 1;
        t /= 10;
        if t == 0 || n == 10 {
            break;
        }
    }
    let parts = [HEAD, digits.get(10 - n..).unwrap_or_default(), TAIL];
    let mut len = 0;
    for part in parts {
        for &b in part {
            if let Some(m) = msg.get_mut(len) {
                *m = b;
                len += 1;
            }
        }
    }
    let _ = tinyrt_rt::io::write_all(tinyrt_rt::io::STDERR, msg.get(..len).unwrap_or_default());
    tinyrt_rt::process::exit(127)
}
