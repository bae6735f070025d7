#!/usr/bin/env python3
"""Stagecraft benchmarks: prints one markdown table.

Compares Stagecraft with the Dockerfile frontend built into the daemon, on
generated equivalent workloads (each benchmark writes a spec and a
Dockerfile with the same graph). Needs `make image` (daemon, base images,
stagecraft:dev) and a release build (`cargo build --release`).

    python3 bench/run.py [--runs N] [--quick] [corpus]

`corpus` runs only the daemon-free section: `stagecraft check` over every
file of the bad-input corpus (tests/bad-input/) and generated hostile
inputs (huge, deeply nested, alias bomb, 100,000 stages, long lines).

Reports medians with min-max. Nothing here asserts: these are measurements.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "target" / "release" / "stagecraft"
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
SYNTAX = "# syntax=stagecraft:dev\n"
GNU_TIME = "/usr/bin/time"


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def must(cmd, **kw):
    r = run(cmd, **kw)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return r


def timed(cmd, **kw):
    """Wall seconds and peak RSS (KiB) of one child process.

    The peak RSS is GNU time's (`/usr/bin/time`, Debian package `time`):
    Linux carries a process's peak RSS across exec, so the figure wait4
    gives for a child that this (large) Python process started would be
    Python's own; time forks the command from its small process."""
    with tempfile.NamedTemporaryFile("r") as rss_file:
        start = time.perf_counter()
        proc = subprocess.run([GNU_TIME, "-f", "%M", "-o", rss_file.name, *map(str, cmd)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(map(str, cmd))}: {proc.stderr.decode()}")
        return elapsed, int(rss_file.read().split()[-1])


def summary(values, unit="", fmt="{:.3f}"):
    med = statistics.median(values)
    return f"{fmt.format(med)}{unit} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def build(path, dockerfile, extra=()):
    return run([DOCKER, "buildx", "build", "--progress=plain", "-f", str(dockerfile), *extra, str(path)])


def build_time(path, dockerfile, extra=()):
    start = time.perf_counter()
    r = build(path, dockerfile, extra)
    if r.returncode != 0:
        raise SystemExit(f"build failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - start, r.stderr


# ---------------------------------------------------------------- workloads

def chain_spec(steps, per_stage=100):
    """`steps` run steps in stages of `per_stage`, each stage built on the last."""
    lines = ["version: 1", "stages:"]
    stages = max(1, (steps + per_stage - 1) // per_stage)
    for s in range(stages):
        lines += [f"  s{s}:", f"    from: {'debian:bookworm-slim' if s == 0 else f's{s - 1}'}", "    steps:"]
        for i in range(min(per_stage, steps - s * per_stage)):
            lines.append(f"      - run: echo step {s}-{i} > /f{i}")
    return "\n".join(lines) + "\n"


def wide(stages, command):
    """`stages` independent busybox stages and a final stage copying from each."""
    spec = ["version: 1", "stages:"]
    docker = []
    for i in range(stages):
        cmd = command.format(i=i)
        spec += [f"  s{i}:", "    from: busybox:latest", "    steps:", f"      - run: {cmd}"]
        docker += [f"FROM busybox:latest AS s{i}", f"RUN {cmd}"]
    spec += ["  final:", "    from: scratch", "    steps:"]
    docker.append("FROM scratch AS final")
    for i in range(stages):
        spec += [f"      - copy: /out{i}", f"        from: s{i}", "        to: /"]
        docker.append(f"COPY --from=s{i} /out{i} /")
    return SYNTAX + "\n".join(spec) + "\n", "\n".join(docker) + "\n"


def hostile_inputs():
    """Inputs made to exhaust a parser, as frontend/tests/bad_input.rs makes them."""
    header = "version: 1\n"
    bomb = header + "x-l0: &l0 [" + ", ".join(["lol"] * 10) + "]\n"
    for level in range(1, 10):
        bomb += f"x-l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]\n"
    bomb += "stages:\n  app:\n    from: scratch\n"
    stages = header + "stages:\n  s0:\n    from: scratch\n"
    stages += "".join(f"  s{i}:\n    from: s{i - 1}\n" for i in range(1, 100_000))
    deep = 10_000
    return {
        "huge (8 MiB)": header + "# " + "x" * (8 << 20) + "\n",
        "alias bomb": bomb,
        "10,000 nested lists": header + "x-deep: " + "[" * deep + "]" * deep + "\n",
        "10,000 nested maps": header + "x-deep: " + "{a: " * deep + "a" + "}" * deep + "\n",
        "100,000 stages": stages,
        "3 MiB line": header + "stages:\n  app:\n    from: " + "a" * (3 << 20) + "\n",
        "3 MiB key": header + "stages:\n  " + "a" * (3 << 20) + ": {from: scratch}\n",
    }


# ---------------------------------------------------------------- benchmarks

def check_ms(path):
    """Milliseconds of `stagecraft check` on a spec it must refuse cleanly."""
    start = time.perf_counter()
    r = run([str(BIN), "check", path.name], cwd=path.parent)
    elapsed = (time.perf_counter() - start) * 1000
    if r.returncode in (0, 101) or r.returncode < 0:
        raise SystemExit(f"`check {path.name}` exited {r.returncode}:\n{r.stderr[:2000]}")
    return elapsed


def bench_corpus(runs):
    corpus = sorted((REPO / "tests" / "bad-input").glob("*.yaml"))
    per_file = [statistics.median(check_ms(p) for _ in range(runs)) for p in corpus]
    rows = [(f"check, bad-input corpus ({len(corpus)} files)",
             f"median {statistics.median(per_file):.1f} ms, max {max(per_file):.1f} ms", "goal < 100 ms each")]
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in hostile_inputs().items():
            path = Path(tmp, "hostile.yaml")
            path.write_text(text)
            times = [check_ms(path) for _ in range(runs)]
            rows.append((f"check, hostile: {name}",
                         f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms", "goal < 100 ms"))
    return rows


def bench_compile(runs, sizes):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            spec = Path(tmp) / f"steps-{n}.yaml"
            spec.write_text(chain_spec(n))
            samples = [timed([str(BIN), "compile", str(spec)]) for _ in range(runs)]
            times = [t * 1000 for t, _ in samples]
            rss = [m / 1024 for _, m in samples]
            rows.append((f"compile {n:,} steps", summary(times, " ms", "{:.1f}"), summary(rss, " MB", "{:.1f}")))
    return rows


def bench_cached_rebuild(runs):
    with tempfile.TemporaryDirectory() as tmp:
        spec, dockerfile = wide(100, "echo {i} > /out{i}")
        Path(tmp, "build.yaml").write_text(spec)
        Path(tmp, "Dockerfile").write_text(dockerfile)
        ours, theirs = [], []
        build_time(tmp, Path(tmp, "build.yaml"))
        build_time(tmp, Path(tmp, "Dockerfile"))
        for _ in range(runs):
            ours.append(build_time(tmp, Path(tmp, "build.yaml"))[0])
            theirs.append(build_time(tmp, Path(tmp, "Dockerfile"))[0])
    ratio = statistics.median(ours) / statistics.median(theirs)
    return [("cached rebuild, 100 stages: Stagecraft", summary(ours, " s"), ""),
            ("cached rebuild, 100 stages: Dockerfile", summary(theirs, " s"), f"ratio {ratio:.2f}× (goal ≤ 1.3)")]


def bench_parallel(runs):
    """16 independent `sleep 1` stages against one, for both frontends: the
    Dockerfile's ratio is what this machine's daemon can do at best. Run
    with the default network (each run step gets a network namespace, which
    the daemon sets up one at a time) and with `--network none` (what is
    left is the graph's own parallelism)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (16, 1):
            spec, dockerfile = wide(n, "sleep 1 && echo {i} > /out{i}")
            Path(tmp, f"{n}.yaml").write_text(spec)
            Path(tmp, f"{n}.Dockerfile").write_text(dockerfile)
        for network in ("default", "none"):
            for label, suffix in (("Stagecraft", "yaml"), ("Dockerfile", "Dockerfile")):
                times = {n: [] for n in (16, 1)}
                for _ in range(runs):
                    for n in (16, 1):
                        flags = ["--no-cache", "--network", network]
                        times[n].append(build_time(tmp, Path(tmp, f"{n}.{suffix}"), flags)[0])
                one = statistics.median(times[1])
                ratio = statistics.median(times[16]) / one
                goal = " (goal ≤ 1.5)" if label == "Stagecraft" else ""
                rows.append((f"16 independent `sleep 1` stages, network {network}: {label}",
                             summary(times[16], " s"),
                             f"ratio to 1 stage ({one:.2f} s): {ratio:.2f}{goal}"))
    return rows


def bench_parallel_group(runs):
    """A `parallel` step group with two `sleep 3` branches against a stage
    with one such step, on a daemon with DiffOp/MergeOp: the containerd
    image store daemon of scripts/e2e-containerd-daemon.sh (Docker's
    classic store runs the branches one after another)."""
    printed = must(["bash", str(REPO / "scripts" / "e2e-containerd-daemon.sh")]).stdout
    host = next(l.split("=", 1)[1] for l in printed.splitlines() if l.startswith("DOCKER_HOST="))
    env = dict(os.environ, DOCKER_HOST=host)
    group = (SYNTAX + "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n"
             "      - parallel:\n"
             "          one: [{run: sleep 3 && echo one > /one}]\n"
             "          two: [{run: sleep 3 && echo two > /two}]\n")
    single = (SYNTAX + "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n"
              "      - run: sleep 3 && echo one > /one\n")
    times = {"group": [], "single": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("group", group), ("single", single)):
            Path(tmp, f"{name}.yaml").write_text(text)
        for _ in range(runs):
            for name in times:
                start = time.perf_counter()
                r = run([DOCKER, "buildx", "build", "--progress=plain", "--no-cache",
                         "--network", "none", "-f", str(Path(tmp, f"{name}.yaml")), tmp], env=env)
                if r.returncode != 0:
                    raise SystemExit(f"build failed:\n{r.stderr[-3000:]}")
                times[name].append(time.perf_counter() - start)
    one = statistics.median(times["single"])
    ratio = statistics.median(times["group"]) / one
    return [("`parallel` group of two `sleep 3` branches (containerd store)",
             summary(times["group"], " s"),
             f"ratio to one branch ({one:.2f} s): {ratio:.2f} (goal ≤ 1.3)")]


TRANSFER = re.compile(r"transferring context: ([0-9.]+)(B|kB|KB|MB|GB)")
UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}


def transferred(progress):
    """Bytes of the last `transferring context` report of each vertex, summed."""
    last = {}
    for line in progress.splitlines():
        m = TRANSFER.search(line)
        if m:
            last[line.split()[0]] = float(m.group(1)) * UNITS[m.group(2)]
    return sum(last.values())


def bench_context(runs, big_mb):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        for i in range(100):
            (src / f"f{i}.txt").write_bytes(os.urandom(10_000))
        (root / "big").mkdir()
        with open(root / "big" / "blob", "wb") as f:
            for _ in range(big_mb):
                f.write(os.urandom(1 << 20))
        src_bytes = sum(p.stat().st_size for p in src.iterdir())
        (root / "build.yaml").write_text(SYNTAX + "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - copy: src/\n        to: /src/\n")
        (root / "Dockerfile").write_text("FROM busybox:latest\nCOPY src/ /src/\n")
        ours, theirs = [], []
        for _ in range(runs):
            must([DOCKER, "buildx", "prune", "-af"])
            ours.append(transferred(build_time(root, root / "build.yaml")[1]))
            must([DOCKER, "buildx", "prune", "-af"])
            theirs.append(transferred(build_time(root, root / "Dockerfile")[1]))
    fmt = lambda v: f"{statistics.median(v) / 1e6:.2f} MB ({statistics.median(v) / src_bytes:.3f}× src/)"
    return [(f"context sent, copy src/ ({src_bytes / 1e6:.1f} MB) beside {big_mb} MB: Stagecraft", fmt(ours), "goal ≤ 1.01× src/"),
            ("… same with the Dockerfile `COPY src/`", fmt(theirs), "")]


def bench_image_and_cold_start(runs):
    size = int(must([DOCKER, "image", "inspect", "-f", "{{.Size}}", "stagecraft:dev"]).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        must([DOCKER, "save", "-o", str(root / "image.tar"), "stagecraft:dev"])
        (root / "build.yaml").write_text(SYNTAX + "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - write: /hello\n        content: hi\n")
        cold, warm = [], []
        for _ in range(runs):
            must([DOCKER, "rmi", "-f", "stagecraft:dev"])
            must([DOCKER, "load", "-i", str(root / "image.tar")])
            cold.append(build_time(root, root / "build.yaml", ["--no-cache"])[0])
            warm.append(build_time(root, root / "build.yaml", ["--no-cache"])[0])
    return [("frontend image size", f"{size / 1e6:.2f} MB", "goal < 5 MB"),
            ("first build after `docker load` of the image", summary(cold, " s"), f"next build: {summary(warm, ' s')}")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer runs and a smaller context")
    parser.add_argument("section", nargs="?", choices=["all", "corpus", "parallel-group"],
                        default="all",
                        help="`corpus`: only `stagecraft check` over bad and hostile inputs (no daemon)")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    if not BIN.exists():
        raise SystemExit(f"{BIN} is missing: run `cargo build --release`")
    if not Path(GNU_TIME).exists():
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time")
    rows = []
    if args.section == "parallel-group":
        rows += bench_parallel_group(runs)
    else:
        rows += bench_corpus(max(runs, 5))
    if args.section == "all":
        rows += full_benchmarks(runs, args.quick)
    print(f"| benchmark | median (min–max) | notes |\n| --- | --- | --- |")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


def full_benchmarks(runs, quick):
    """The daemon benchmarks: Stagecraft against the Dockerfile frontend."""
    rows = []
    rows += bench_compile(max(runs, 5), [10, 100, 1_000, 10_000])
    rows += bench_cached_rebuild(runs)
    rows += bench_parallel(runs)
    rows += bench_parallel_group(runs)
    rows += bench_context(runs, 50 if quick else 500)
    rows += bench_image_and_cold_start(runs)
    return rows


if __name__ == "__main__":
    main()
