#!/usr/bin/env python3
"""The benchmark (issue 10, item 7): one command, every figure, ratios against a floor measured in
the same run.

    scripts/benchmark.py [--packets N] [--seed S] [--runs R] [--big] [--keep DIR] [--baseline REV] [--no-live]

1. builds `wirestate` and `wirestate-bench` (release), and with the system C compiler the floor
   (bench/floor.c: a bare libpcap pcap_next_ex loop) and an allocation counter (bench/alloccount.c,
   an LD_PRELOAD shim);
2. generates realistic captures deterministically from the seed (`wirestate-bench generate`: the
   real conversations of Captures/ replayed with fresh 4-tuples; see Sources/WireStateBenchmark/
   Generator.swift): N packets with full frames, N packets at snaplen 128, and with --big 10N
   packets at snaplen 128;
3. on each file, times the floor, `wirestate analyze --quiet`, `wirestate analyze --format jsonl`
   to /dev/null, `--threads 1` against `--threads N` when the binary has the option, and tshark
   (`-q -z conv,tcp`) and tcptrace (`-n`) when installed; best of R runs each, peak RSS of each
   process from wait4;
4. prints packets/s, ns/packet, the ratio to the floor, peak RSS, bytes per tracked connection
   (MemoryLayout) and allocations per packet (the difference between runs on N and N/2 packets of
   the same seed, divided by N/2, so start-up and report costs cancel), and peak RSS at N/2 and N
   (memory must not grow with the number of finished connections).

With --baseline REV (a git revision, e.g. the commit before the tunnel decoders), it also builds that
revision's `wirestate` and `wirestate-bench` from `git archive` (into the --keep directory, reused
when already built there) and times, on the same files in the same run, alternating old and new
R times each: the decode phase alone (`wirestate-bench --phase decode --keep FILE`: link, IP and
TCP decoding of every frame, the cost that new encapsulations could add to plain Ethernet), the
track phase (decode + both machines), and `analyze --quiet`, as new/old ratios (below 1: faster now).

Unless --no-live, and when it can (root, tcpreplay and tcpdump installed; otherwise it says it
skipped), the full-frame file is also replayed onto loopback as fast as tcpreplay can (`--topspeed`) while each of `tcpdump -w` (32 MiB buffer),
`wirestate live --format jsonl` and `wirestate live --format jsonl --write FILE` captures it, and
the frames each captured and the kernel's drop counts are printed side by side.

Only public tools; nothing here needs the network. Exit status 0 unless a build or a run failed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def timed(cmd, env=None):
    """Runs cmd with stdout to /dev/null; returns (seconds, peak RSS MiB, exit status)."""
    start = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
    seconds = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        sys.stderr.write(f"benchmark: {' '.join(cmd)} exited {code}: {err.strip()[:300]}\n")
    return seconds, usage.ru_maxrss / 1024, code


def best(cmd, runs, env=None):
    results = [timed(cmd, env) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results), max(abs(r[2]) for r in results)


def allocations(binary, args, shim, tmp):
    out = os.path.join(tmp, "alloc.count")
    env = dict(os.environ, LD_PRELOAD=shim, ALLOCCOUNT_OUT=out)
    with open(os.devnull, "wb") as null:
        subprocess.run([binary] + args, stdout=null, stderr=null, env=env)
    with open(out) as f:
        return int(f.read().strip())


def wait_quiet(path, seconds=60):
    """Waits (bounded) until the file at path has stopped growing for a second."""
    last, still, deadline = -1, 0, time.monotonic() + seconds
    while time.monotonic() < deadline and still < 10:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        still = still + 1 if size == last else 0
        last = size
        time.sleep(0.1)


def live_replay(wirestate, path, packets, tmp):
    """Replays path onto lo with tcpreplay while each capturer runs; prints captured frames and drops."""
    if os.geteuid() != 0 or not shutil.which("tcpreplay") or not shutil.which("tcpdump"):
        print("  live replay: skipped (needs root, tcpreplay and tcpdump)")
        return
    print(f"  live replay onto lo ({packets:,} packets, tcpreplay --topspeed), each capturer in turn:")
    saved = os.path.join(tmp, "live-saved.pcap")
    runs = [
        ("tcpdump -B 32768 -w FILE", ["tcpdump", "-i", "lo", "-B", "32768", "-w", saved], "tcpdump"),
        ("wirestate live --format jsonl", [wirestate, "live", "-i", "lo", "--format", "jsonl"], "jsonl"),
        ("wirestate live jsonl --write FILE", [wirestate, "live", "-i", "lo", "--format", "jsonl", "--write", saved], "jsonl"),
    ]
    for name, cmd, kind in runs:
        out_path, err_path = os.path.join(tmp, "live.out"), os.path.join(tmp, "live.err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(cmd, stdout=out, stderr=err)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and b"listening on" not in open(err_path, "rb").read():
                time.sleep(0.05)
            r = subprocess.run(["tcpreplay", "-i", "lo", "--topspeed", path], capture_output=True, text=True)
            sent = next((l.strip() for l in r.stdout.splitlines() if l.strip().startswith("Rated:")), "?")
            wait_quiet(saved if kind == "tcpdump" else out_path)
            p.send_signal(2)
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
        err = open(err_path, errors="replace").read()
        if kind == "tcpdump":
            captured = next((l.split()[0] for l in err.splitlines() if "captured" in l), "?")
            dropped = next((l.split()[0] for l in err.splitlines() if "dropped by kernel" in l), "?")
        else:
            rec = next((json.loads(l) for l in open(out_path) if l.startswith('{"type":"capture"')), {})
            captured, dropped = rec.get("frames", "?"), rec.get("dropped_by_kernel", "?")
        print(f"    {name:36} captured {captured:>9}   dropped by kernel {dropped:>9}   ({sent})")
        for f in (saved, out_path, err_path):
            if os.path.exists(f):
                os.unlink(f)


def build_baseline(rev, tmp):
    """Builds REV's wirestate and wirestate-bench (release) from `git archive` under tmp; returns their paths."""
    src = os.path.join(tmp, "baseline-" + rev.replace("/", "_"))
    if not os.path.isdir(src):
        os.makedirs(src)
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    print(f"building {rev} (release)…", flush=True)
    for product in ("wirestate", "wirestate-bench"):
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=src,
                       stdout=subprocess.DEVNULL, check=True)
    bindir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=src,
                            capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(bindir, "wirestate"), os.path.join(bindir, "wirestate-bench")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spacing-us", type=int, default=2000,
                    help="mean gap between connection starts (capture time); 2 ms holds ~30k open at once")
    ap.add_argument("--big", action="store_true", help="also 10x the packets at snaplen 128")
    ap.add_argument("--keep", help="directory for the generated captures (default: a temporary one, removed)")
    ap.add_argument("--no-live", dest="live", action="store_false",
                    help="skip the live replay (by default the full-frame file is replayed onto loopback with "
                         "tcpreplay and live capture drops compared, when run as root with tcpreplay and tcpdump)")
    ap.add_argument("--live", dest="live", action="store_true", help=argparse.SUPPRESS)  # the default; kept for old scripts
    ap.add_argument("--baseline", metavar="REV",
                    help="also build this git revision and compare its decode, track and analyze --quiet times")
    a = ap.parse_args()

    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        sys.exit("benchmark: no C compiler (apt-get install gcc) for the libpcap floor")
    print("building (release)…", flush=True)
    for product in ("wirestate", "wirestate-bench"):
        sh(["swift", "build", "-c", "release", "--product", product], stdout=subprocess.DEVNULL)
    bindir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    wirestate, bench = os.path.join(bindir, "wirestate"), os.path.join(bindir, "wirestate-bench")
    tmp = a.keep or tempfile.mkdtemp(prefix="wirestate-benchmark-")
    os.makedirs(tmp, exist_ok=True)
    floor, shim = os.path.join(tmp, "floor"), os.path.join(tmp, "alloccount.so")
    sh([cc, "-O2", "-o", floor, "bench/floor.c", "-lpcap"])
    sh([cc, "-O2", "-shared", "-fPIC", "-o", shim, "bench/alloccount.c"])
    layout = json.loads(subprocess.run([bench, "layout"], capture_output=True, text=True, check=True).stdout)
    threads = "--threads" in subprocess.run([wirestate, "analyze", "--help"], capture_output=True, text=True).stdout
    cores = os.cpu_count() or 1
    baseline = build_baseline(a.baseline, tmp) if a.baseline else None

    def generate(name, packets, snaplen):
        path = os.path.join(tmp, name)
        r = subprocess.run([bench, "generate", path, "--seed", str(a.seed), "--packets", str(packets),
                            "--snaplen", str(snaplen), "--spacing-us", str(a.spacing_us)],
                           cwd=ROOT, capture_output=True, text=True, check=True)
        return path, json.loads(r.stdout)

    files = [("full frames", a.packets, 262144), ("snaplen 128", a.packets, 128)]
    if a.big:
        files.append(("10x, snaplen 128", a.packets * 10, 128))
    failed = False
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    print(f"machine: {model}, {cores} cores; seed {a.seed}; best of {a.runs} runs")
    print(f"bytes per tracked connection (MemoryLayout): {layout['bytes_per_tracked_connection']}")
    for label, packets, snaplen in files:
        path, info = generate(f"bench-{packets}-{snaplen}.pcap", packets, snaplen)
        print(f"\n== {label}: {info['packets']:,} packets, {info['connections']:,} connections "
              f"({info['ipv6_connections']:,} IPv6, {info['vlan_connections']:,} VLAN), {info['bytes'] / 2**20:.0f} MiB")
        rows = [("bare C pcap_next_ex loop", [floor, path])]
        rows.append(("wirestate analyze --quiet", [wirestate, "analyze", "--quiet", path]))
        rows.append(("wirestate analyze --format jsonl", [wirestate, "analyze", "--format", "jsonl", path]))
        rows.append(("wirestate analyze (text report)", [wirestate, "analyze", path]))
        if threads:
            rows.append(("wirestate --quiet --threads 1", [wirestate, "analyze", "--quiet", "--threads", "1", path]))
            rows.append((f"wirestate --quiet --threads {cores}", [wirestate, "analyze", "--quiet", "--threads", str(cores), path]))
            rows.append((f"wirestate jsonl --threads {cores}", [wirestate, "analyze", "--format", "jsonl", "--threads", str(cores), path]))
        if shutil.which("tshark"):
            rows.append(("tshark -q -z conv,tcp", ["tshark", "-r", path, "-q", "-z", "conv,tcp"]))
        if shutil.which("tcptrace"):
            rows.append(("tcptrace -n", ["tcptrace", "-n", path]))
        base = None
        print(f"{'':36} {'seconds':>8} {'Mpkt/s':>7} {'ns/pkt':>7} {'vs floor':>8} {'peak RSS':>10}")
        for name, cmd in rows:
            runs = a.runs if not name.startswith(("tshark", "tcptrace")) else 1
            secs, rss, code = best(cmd, runs)
            failed |= code != 0 and name.startswith(("bare", "wirestate"))
            base = base or secs
            print(f"{name:36} {secs:8.3f} {packets / secs / 1e6:7.2f} {secs / packets * 1e9:7.0f} "
                  f"{secs / base:7.2f}x {rss:7.1f} MiB")
        if not threads:
            print("  (--threads: not in this build; one thread)")
        if baseline:
            old_ws, old_bench = baseline
            print(f"  against {a.baseline} (same file, alternating old/new, best of {a.runs} each):")
            for name, new_cmd, old_cmd in [
                ("decode phase", [bench, "--phase", "decode", "--keep", path], [old_bench, "--phase", "decode", "--keep", path]),
                ("track phase", [bench, "--phase", "track", "--keep", path], [old_bench, "--phase", "track", "--keep", path]),
                ("analyze --quiet", [wirestate, "analyze", "--quiet", path], [old_ws, "analyze", "--quiet", path]),
            ]:
                new_t, old_t = [], []
                for _ in range(a.runs):
                    old_t.append(timed(old_cmd)[0])
                    new_t.append(timed(new_cmd)[0])
                print(f"    {name:18} {a.baseline[:12]} {min(old_t):7.3f}s   now {min(new_t):7.3f}s   "
                      f"now/old {min(new_t) / min(old_t):5.3f}")
        # Allocations per packet and memory at two sizes, on the same seed's first half.
        half, half_info = generate(f"bench-{packets // 2}-{snaplen}.pcap", packets // 2, snaplen)
        for mode in (["--quiet"], ["--format", "jsonl"]):
            full_allocs = allocations(wirestate, ["analyze"] + mode + [path], shim, tmp)
            half_allocs = allocations(wirestate, ["analyze"] + mode + [half], shim, tmp)
            per = (full_allocs - half_allocs) / (packets - packets // 2)
            _, rss_half, _ = timed([wirestate, "analyze"] + mode + [half])
            _, rss_full, _ = timed([wirestate, "analyze"] + mode + [path])
            print(f"  analyze {' '.join(mode):15} allocations/packet {per:6.3f}   peak RSS N/2 {rss_half:7.1f} MiB, "
                  f"N {rss_full:7.1f} MiB ({rss_full / rss_half:.2f}x for 2x the connections)")
        # The text report keeps the rows it can show: 50 by default (flat), every row with
        # --limit 0 (what each costs, from the two sizes).
        more = info["connections"] - half_info["connections"]
        for mode in ([], ["--limit", "0"]):
            _, text_half, _ = timed([wirestate, "analyze"] + mode + [half])
            _, text_full, _ = timed([wirestate, "analyze"] + mode + [path])
            if more > 0:
                label = "analyze " + (" ".join(mode) or "(text report)")
                print(f"  {label:23} peak RSS N/2 {text_half:7.1f} MiB, N {text_full:7.1f} MiB "
                      f"({text_full / text_half:.2f}x): "
                      f"{(text_full - text_half) * 2**20 / more:.0f} bytes per finished connection")
        os.unlink(half)
        if a.live and snaplen == 262144:
            live_replay(wirestate, path, packets, tmp)
        if not a.keep:
            os.unlink(path)
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
