#!/usr/bin/env python3
"""List a vDSO image's exported dynamic symbols with pyelftools, in the format of tinyrt's
`vdso` inspector, so that a test can compare the two line for line:

    # class=ELF64 machine=62 hash=gnu,sysv versions=yes
    NAME@VERSION 0xVALUE

Exported: type FUNC or NOTYPE, binding GLOBAL or WEAK, section not UND or ABS, versym
hidden bit clear. Sorted by (name, version, value). Versions come from pyelftools' own
.gnu.version / .gnu.version_d readers; the symbols from the .dynsym section, or from the
PT_DYNAMIC segment when the image has no section headers. Either byte order: pyelftools
reads every field in the image's own.
"""
import sys

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerSymSection


def main(path):
    with open(path, "rb") as f:
        elf = ELFFile(f)
        dyn = next(s for s in elf.iter_segments() if s["p_type"] == "PT_DYNAMIC")
        tags = {t.entry.d_tag for t in dyn.iter_tags()}
        hashes = [n for n, t in (("gnu", "DT_GNU_HASH"), ("sysv", "DT_HASH")) if t in tags]
        versioned = "DT_VERSYM" in tags and "DT_VERDEF" in tags

        dynsym = elf.get_section_by_name(".dynsym")
        symbols = list(dynsym.iter_symbols()) if dynsym else list(dyn.iter_symbols())

        versym = verdef = None
        for sec in elf.iter_sections():
            if isinstance(sec, GNUVerSymSection):
                versym = sec
            elif isinstance(sec, GNUVerDefSection):
                verdef = sec
        names = {}
        if verdef is not None:
            for vd, auxes in verdef.iter_versions():
                if not vd["vd_flags"] & 1:  # not VER_FLG_BASE
                    names[vd["vd_ndx"]] = next(iter(auxes)).name

        lines = []
        for i, sym in enumerate(symbols):
            if i == 0:
                continue
            info = sym["st_info"]
            if info["type"] not in ("STT_FUNC", "STT_NOTYPE"):
                continue
            if info["bind"] not in ("STB_GLOBAL", "STB_WEAK"):
                continue
            if sym["st_shndx"] in ("SHN_UNDEF", "SHN_ABS"):
                continue
            version = None
            if versioned and versym is not None:
                # pyelftools decodes 0 and 1 to names and leaves other indexes as the raw
                # 16-bit value, hidden bit (0x8000) included.
                ndx = versym.get_symbol(i).entry["ndx"]
                if isinstance(ndx, int):
                    if ndx & 0x8000:
                        continue
                    version = names.get(ndx)
            lines.append((sym.name.encode(), version.encode() if version else None, sym["st_value"]))

        print(
            "# class=ELF%d machine=%d hash=%s versions=%s"
            % (elf.elfclass, machine(elf), ",".join(hashes), "yes" if versioned else "no")
        )
        lines.sort(key=lambda l: (l[0], l[1] is not None, l[1] or b"", l[2]))
        for name, version, value in lines:
            v = ("@" + version.decode()) if version else ""
            print("%s%s 0x%x" % (name.decode(), v, value))


def machine(elf):
    """e_machine as a number (pyelftools decodes it to a name), in the image's byte order."""
    elf.stream.seek(18)
    data = elf.stream.read(2)
    return int.from_bytes(data, "little" if elf.little_endian else "big")


if __name__ == "__main__":
    main(sys.argv[1])
