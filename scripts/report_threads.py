"""scripts/report's tables of threads, the heap under threads, sha256sum and the event loop
(each a function `NAME_table()` returning the README's markdown rows)."""
import os
import subprocess
import time
from pathlib import Path

from report_common import OUT, ROOT, sh


def event_table():
    """A 1 ms schedule of 5,000 ticks in an event loop with 1,000 idle pipes registered:
    `daemon ticks` (tinyrt's `event::Poll`: the deadline to the nanosecond, epoll_pwait2
    where the kernel has it) beside scripts/compare/ticks.c (glibc: clock_gettime and
    epoll_wait with the time left rounded up to a millisecond); 5 interleaved rounds,
    medians of each figure, and the median of the rounds' own ratios to C."""
    c = OUT / "ticks-c"
    sh("gcc", "-O2", "-o", str(c), str(ROOT / "scripts" / "compare" / "ticks.c"))
    args = ["1000", "5000", "1000"]
    base = "C, glibc `epoll_wait` (ms timeout)"
    progs = {"tinyrt `event::Poll` (`daemon ticks`)": [str(ROOT / "target" / "release" / "examples" / "daemon"), "ticks"] + args,
             base: [str(c)] + args}
    runs = {k: [] for k in progs}
    for _ in range(5):
        for k, cmd in progs.items():
            line = next(l for l in sh(*cmd).splitlines() if l.startswith("summary "))
            runs[k].append({a: int(b) for a, b in (kv.split("=") for kv in line.split()[1:])})
    med = lambda v: sorted(v)[len(v) // 2]
    rows = ["| 5,000 ticks at 1 ms, 1,000 idle pipes | waits | drift | median lateness | p99 lateness | max lateness | median vs C |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for k, v in runs.items():
        f = lambda name: med([r[name] for r in v])
        ratio = med([a["median_ns"] / b["median_ns"] for a, b in zip(v, runs[base])])
        rows.append(f"| {k} | {f('waits'):,} | {f('drift_ns'):,} ns | {f('median_ns') / 1e3:,.1f} µs | "
                    f"{f('p99_ns') / 1e3:,.1f} µs | {f('max_ns') / 1e3:,.1f} µs | {ratio:.2f}x |")
    return "\n".join(rows)


def run_rusage(cmd):
    """Runs cmd through scripts/compare/maxrss.c (a child forked from Python would count
    Python's memory in its peak); its wall time in seconds and peak resident set in KiB."""
    start = time.perf_counter()
    p = subprocess.run([str(OUT / "maxrss")] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=True)
    took = time.perf_counter() - start
    return took, int(p.stderr.split("maxrss_kib ")[1].split()[0])


def alloc_table():
    """The allocation workload (scripts/compare/alloc.c: 2,000,000 random allocations and
    frees of 16 B to 64 KiB over 1,024 slots, then a 1 MiB string) as a static tinyrt binary
    (`heap bench`), C with glibc's malloc (static), C with musl's (static) and Rust std on
    musl; then the same on 2 threads at once (each its own workload: glibc's malloc gives
    each thread an arena of its own, tinyrt's heap is one talc behind one lock); 5
    interleaved rounds, medians."""
    cmp = ROOT / "scripts" / "compare"
    sh("gcc", "-O2", "-static", "-pthread", "-o", str(OUT / "alloc-glibc"), str(cmp / "alloc.c"))
    sh("musl-gcc", "-O2", "-static", "-o", str(OUT / "alloc-musl"), str(cmp / "alloc.c"))
    sh("gcc", "-O2", "-static", "-o", str(OUT / "maxrss"), str(cmp / "maxrss.c"))
    sh("cargo", "build", "--release", "--quiet", "--features", "alloc,threads", "--example", "heap",
       "--target-dir", str(OUT / "heap"), cwd=ROOT)
    ops = "2000000"
    progs = {
        "tinyrt (`heap bench`, talc)": [str(OUT / "heap" / "release" / "examples" / "heap"), "bench", ops],
        "C, glibc malloc, static": [str(OUT / "alloc-glibc"), ops],
        "C, musl malloc, static": [str(OUT / "alloc-musl"), ops],
        "Rust std, musl static": [str(OUT / "rust-std" / "x86_64-unknown-linux-musl" / "release" / "alloc"), ops],
    }
    rows = ["| allocation workload | time (median of 5) | vs glibc | peak RSS |", "|---|---:|---:|---:|"]
    for threads, suffix in [(None, ""), ("2", ", 2 threads")]:
        cmds = {k + suffix: v + ([threads] if threads else []) for k, v in progs.items()}
        sums = {sh(*cmd).strip() for cmd in cmds.values()}
        if len(sums) != 1:
            raise RuntimeError(f"the workloads disagree: {sums}")
        runs = {k: [] for k in cmds}
        for _ in range(5):
            for k, cmd in cmds.items():
                runs[k].append(run_rusage(cmd))
        med = {k: (sorted(t for t, _ in v)[2], sorted(r for _, r in v)[2]) for k, v in runs.items()}
        glibc = med["C, glibc malloc, static" + suffix][0]
        for k, (t, rss) in med.items():
            rows.append(f"| {k} | {t * 1000:,.0f} ms | {t / glibc:.2f}x | {rss:,} KiB |")
    return "\n".join(rows)


def sha256sum_table():
    """The `sha256sum` example (with `alloc` and `threads`: it hashes on every CPU) against Debian's /usr/bin/sha256sum (GNU
    coreutils) on 200 files of 1 MiB and on one file of 512 MiB of random bytes, made in a
    temporary directory and removed after; the outputs must agree; 5 interleaved rounds,
    page cache warm, medians of wall time and peak RSS."""
    import tempfile
    cmp = ROOT / "scripts" / "compare"
    sh("gcc", "-O2", "-static", "-o", str(OUT / "maxrss"), str(cmp / "maxrss.c"))
    sh("cargo", "build", "--release", "--quiet", "--features", "alloc,threads", "--example", "sha256sum",
       "--target-dir", str(OUT / "alloc"), cwd=ROOT)
    ours = str(OUT / "alloc" / "release" / "examples" / "sha256sum")
    gnu = "/usr/bin/sha256sum"
    rows = ["| sha256sum | GNU coreutils (median of 5) | tinyrt `sha256sum` | ratio | peak RSS, GNU / tinyrt |",
            "|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="tinyrt-report-sha-") as tmp:
        many = []
        for i in range(200):
            f = Path(tmp) / f"f{i:03}"
            f.write_bytes(os.urandom(1 << 20))
            many.append(str(f))
        big = Path(tmp) / "big"
        with open(big, "wb") as out:
            for _ in range(512):
                out.write(os.urandom(1 << 20))
        for label, files in [("200 files of 1 MiB", many), ("one file of 512 MiB", [str(big)])]:
            if sh(ours, *files) != sh(gnu, *files):
                raise RuntimeError(f"sha256sum: the outputs differ on {label}")
            runs = {gnu: [], ours: []}
            for _ in range(5):
                for prog in runs:
                    runs[prog].append(run_rusage([prog] + files))
            med = {k: (sorted(t for t, _ in v)[2], sorted(r for _, r in v)[2]) for k, v in runs.items()}
            (g, grss), (t, trss) = med[gnu], med[ours]
            rows.append(f"| {label} | {g * 1000:,.0f} ms | {t * 1000:,.0f} ms | {t / g:.2f}x | "
                        f"{grss:,} / {trss:,} KiB |")
    return "\n".join(rows)


def spawn_table():
    """Starts the static `tiny` and waits for it, 1,000 times per run, three ways: tinyrt's
    Command (`run --repeat`), C with glibc's posix_spawn (static) and Rust std's Command
    (musl static); 15 interleaved rounds, each pinned to CPU 1 with taskset (unpinned, a
    round's time moves by 2x as the parent and child migrate). The ratio is the median of
    each round's own ratio to posix_spawn, the time the median per start."""
    cmp = ROOT / "scripts" / "compare"
    sh("gcc", "-O2", "-static", "-o", str(OUT / "spawn-c"), str(cmp / "spawn.c"))
    tiny = str(ROOT / "target" / "release" / "examples" / "tiny")
    n = "1000"
    base = "C, glibc `posix_spawn`, static"
    progs = {
        "tinyrt `Command` (`run --repeat`)": [str(ROOT / "target" / "release" / "examples" / "run"),
                                              "--repeat", n, tiny],
        base: [str(OUT / "spawn-c"), n, tiny],
        "Rust std `Command`, musl static": [
            str(OUT / "rust-std" / "x86_64-unknown-linux-musl" / "release" / "spawn"), n, tiny],
    }
    runs = {k: [] for k in progs}
    for _ in range(15):
        for k, cmd in progs.items():
            line = next(l for l in sh("taskset", "-c", "1", *cmd).splitlines() if l.startswith("repeat "))
            runs[k].append(int(line.split()[3]) / int(n))
    med = lambda v: sorted(v)[len(v) // 2]
    rows = ["| start and wait for `tiny`, 1,000 times | per start (median of 15) | vs posix_spawn (median of the rounds' ratios) |",
            "|---|---:|---:|"]
    for k, v in runs.items():
        ratio = med([a / b for a, b in zip(v, runs[base])])
        rows.append(f"| {k} | {med(v) / 1e3:,.1f} µs | {ratio:.2f}x |")
    return "\n".join(rows)


def threads_table():
    """Threads side by side (scripts/compare/threads.c with glibc and musl, static; its Rust
    std twin, musl static; tinyrt's `thread_bench`): spawn + join of an empty thread,
    `Mutex` lock + unlock alone and with 2 threads contending, and the resident memory an
    idle thread adds. 7 interleaved rounds; per operation the median, and the median of each
    round's own ratio."""
    cmp = ROOT / "scripts" / "compare"
    sh("gcc", "-O2", "-static", "-pthread", "-o", str(OUT / "threads-glibc"), str(cmp / "threads.c"))
    sh("musl-gcc", "-O2", "-static", "-o", str(OUT / "threads-musl"), str(cmp / "threads.c"))
    sh("cargo", "build", "--release", "--quiet", "--features", "threads,alloc", "--example",
       "thread_bench", "--target-dir", str(OUT / "threads"), cwd=ROOT)
    progs = {
        "tinyrt": [str(OUT / "threads" / "release" / "examples" / "thread_bench")],
        "C, glibc pthreads, static": [str(OUT / "threads-glibc")],
        "C, musl pthreads, static": [str(OUT / "threads-musl")],
        "Rust std, musl static": [str(OUT / "rust-std" / "x86_64-unknown-linux-musl" / "release" / "threads")],
    }
    work = {"spawn": 2000, "mutex": 10_000_000, "contend": 2_000_000}
    runs = {(k, m): [] for k in progs for m in work}
    idle = {k: [] for k in progs}
    for _ in range(7):
        for m, n in work.items():
            for k, cmd in progs.items():
                line = sh(*cmd, m, str(n)).split()
                runs[(k, m)].append(int(line[3]) / n)
        for k, cmd in progs.items():
            idle[k].append(float(sh(*cmd, "idle", "200").split()[3]))
    med = lambda v: sorted(v)[len(v) // 2]
    ratio = lambda k, m, base: med([a / b for a, b in zip(runs[(k, m)], runs[(base, m)])])
    glibc, std = "C, glibc pthreads, static", "Rust std, musl static"
    rows = ["| per operation (median of 7) | spawn + join | vs glibc | `Mutex` lock + unlock | vs std | 2 threads contending | vs std | resident memory per idle thread |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for k in progs:
        rows.append(f"| {k} | {med(runs[(k, 'spawn')]) / 1e3:,.1f} µs | {ratio(k, 'spawn', glibc):.2f}x "
                    f"| {med(runs[(k, 'mutex')]):.1f} ns | {ratio(k, 'mutex', std):.2f}x "
                    f"| {med(runs[(k, 'contend')]):.1f} ns | {ratio(k, 'contend', std):.2f}x "
                    f"| {med(idle[k]):.1f} KiB |")
    return "\n".join(rows)
