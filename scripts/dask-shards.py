#!/usr/bin/env python3
"""Analyse a capture set as N shard tasks on a Dask distributed cluster, then merge them.

    scripts/dask-shards.py --shards 8 -o run.jsonl [--scheduler tcp://host:8786] \
        [--wirestate PATH] [--workdir DIR] [--options "--msl 60 --filter 'tcp port 443'"] CAPTURE...

Each task runs `wirestate analyze --format jsonl --shard K/N [options] CAPTURE...` on a Dask
worker and writes its JSON Lines to DIR/shard-K-of-N.jsonl; when every task has finished,
`wirestate merge` joins the N files into exactly what one `analyze --format jsonl` run prints
(docs/scaling.md). Without --scheduler, a LocalCluster with --workers processes is started (and
stopped) here: the same code, one machine.

The workers run the wirestate binary and read the captures by the paths given, and DIR is where
they write: on a real cluster all three must be on a filesystem the workers and this script
share (NFS, a parallel filesystem, a mounted bucket). A task that fails (non-zero exit) is
reported with its stderr, and the merge is not attempted: exit 1. Dask retries a task whose
worker died (--retries); a shard's run is deterministic, so a retry writes the same file.

Needs `pip install "dask[distributed]"`.
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile


def run_shard(wirestate, k, n, options, captures, workdir):
    """One task: shard k of n into its own file. Returns (k, exit status, stderr, path)."""
    path = os.path.join(workdir, f"shard-{k}-of-{n}.jsonl")
    partial = path + ".partial"
    with open(partial, "wb") as out:
        p = subprocess.run([wirestate, "analyze", "--format", "jsonl", "--shard", f"{k}/{n}", *options, *captures],
                           stdout=out, stderr=subprocess.PIPE)
    # Renamed only when whole: a retried or killed task never leaves half a file under the final name.
    if p.returncode == 0:
        os.replace(partial, path)
    return k, p.returncode, p.stderr.decode("utf-8", "replace"), path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", type=int, required=True, help="N: how many shard tasks")
    ap.add_argument("-o", "--output", required=True, help="the merged JSON Lines ('-' for standard output)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a LocalCluster)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="LocalCluster worker processes")
    ap.add_argument("--wirestate", default=shutil.which("wirestate") or "wirestate",
                    help="the wirestate binary, as the workers see it")
    ap.add_argument("--workdir", help="where the shard files go (shared with the workers; default: a temporary "
                    "directory, removed afterwards)")
    ap.add_argument("--retries", type=int, default=1, help="times Dask reruns a task whose worker died")
    ap.add_argument("--options", default="", help="analyze options for every shard, as one shell-quoted string")
    ap.add_argument("captures", nargs="+", help="the capture files, as the workers see them")
    a = ap.parse_args()
    if not 1 <= a.shards <= 65536:
        ap.error("--shards must be 1 to 65536")
    options, captures = shlex.split(a.options), a.captures
    for bad in ("--shard", "--format"):
        if any(o == bad or o.startswith(bad + "=") for o in options):
            ap.error(f"{bad} is set by the recipe")

    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        sys.exit('dask-shards.py: needs Dask: pip install "dask[distributed]"')

    own_dir = a.workdir is None
    workdir = tempfile.mkdtemp(prefix="wirestate-shards-") if own_dir else a.workdir
    os.makedirs(workdir, exist_ok=True)
    cluster = None
    try:
        if a.scheduler:
            client = Client(a.scheduler)
        else:
            cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        with client:
            futures = [client.submit(run_shard, a.wirestate, k, a.shards, options, captures, workdir,
                                     key=f"wirestate-shard-{k}-of-{a.shards}", retries=a.retries, pure=False)
                       for k in range(1, a.shards + 1)]
            results = sorted(client.gather(futures))
        failed = [(k, status, err) for k, status, err, _ in results if status != 0]
        for k, status, err in failed:
            sys.stderr.write(f"dask-shards.py: shard {k}/{a.shards} failed (exit {status}):\n{err}")
        if failed:
            return 1
        for _, _, err, _ in results:
            sys.stderr.write(err)  # warnings of the shard runs (damaged inputs are reported, not fatal)
        files = [path for _, _, _, path in results]
        if a.output == "-":
            return subprocess.run([a.wirestate, "merge", *files]).returncode
        with open(a.output, "wb") as out:
            return subprocess.run([a.wirestate, "merge", *files], stdout=out).returncode
    finally:
        if cluster is not None:
            cluster.close()
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
