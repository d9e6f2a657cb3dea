"""Runs fnnet's benchmark suite: ``python benchmarks/run.py [--quick] [--workloads ...] ...``.

Everything timed runs in this one process, interleaved round by round, and each table reports
medians; workload D (cold start) runs each contender in a fresh child process of this script.
See ``benchmarks/README.md`` for what each contender and workload is.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# `python benchmarks/run.py` puts benchmarks/ first on sys.path, where our common.py and
# report.py could shadow same-named modules a framework imports; put the repo there instead.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(_HERE)]
sys.path.insert(0, str(REPO))

# Only the standard library and numpy above the line: a child times its own `import jax`.
from benchmarks.common import (  # noqa: E402
    Spec,
    current_rss_bytes,
    load_average,
    make_data,
    peak_rss_bytes,
    workload_a,
    workload_b,
    workload_e,
    workload_f,
)
from benchmarks.timing import check, log, run_training, set_peak  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
DEFAULT_JSON = RESULTS / "latest.json"
QUICK_JSON = RESULTS / "quick.json"  # ignored by git: quick numbers never replace latest.md
COLD_START_QUICK = ("jax-scan-epoch", "fnnet-fit")
# Run order (D's child processes last, once this process's memory is freed).
ALL_WORKLOADS = ("A", "B", "C", "S", "L", "E", "F", "K", "Z", "D")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: tiny data, 1 round, fewer contenders, a smaller matmul; "
                        f"writes {QUICK_JSON.relative_to(REPO)} unless --json is given")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds (default 5, or 1 with --quick; K and Z use at most 3)")
    p.add_argument("--json", type=Path, default=None,
                   help=f"where to write the JSON results (default "
                        f"{DEFAULT_JSON.relative_to(REPO)}); the Markdown goes next to it (.md), "
                        f"Z's plot to scaling.png (or STEM-scaling.png) in the same folder")
    p.add_argument("--only", "--workloads", dest="workloads", default="all",
                   help=f"comma-separated subset of {','.join(ALL_WORKLOADS)} (default: all)")
    p.add_argument("--z-grid", choices=("small", "big"), default="small",
                   help="Z's sweep: small (4 sizes x 3 widths, a few minutes) or big (7 x 7)")
    p.add_argument("--contenders", default=None,
                   help="comma-separated subset of contender names (default: all)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-workload", default="A", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    chosen = {w.strip().upper() for w in args.workloads.split(",") if w.strip()}
    if "ALL" in chosen:
        chosen = (chosen - {"ALL"}) | set(ALL_WORKLOADS)
    bad = sorted(chosen - set(ALL_WORKLOADS))
    if bad:
        p.error(f"--only takes a subset of {','.join(ALL_WORKLOADS)} or 'all'; got {bad}")
    args.workloads = [w for w in ALL_WORKLOADS if w in chosen]
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.rounds < 1:
        p.error(f"--rounds must be at least 1; got {args.rounds}")
    if args.json is None:
        args.json = QUICK_JSON if args.quick else DEFAULT_JSON
    if args.quick:
        args.z_grid = "quick"
    return args


def plot_path(json_path: Path) -> Path:
    stem = json_path.stem
    return json_path.parent / ("scaling.png" if stem == "latest" else f"{stem}-scaling.png")


def contender_names() -> set[str]:
    from benchmarks import contenders, contenders_conv, contenders_seq

    groups = (contenders.ALL, contenders.STREAMING, contenders.LOOPS, contenders.SCALING,
              contenders_conv.CONTENDERS,
              contenders_seq.LSTM_CONTENDERS, contenders_seq.ATTENTION_CONTENDERS)
    return {c.name for group in groups for c in group}


# ------------------------------------------------------------------------ workload D


def _run_children(names: list[str], workload: str, spec, args, warnings: list,
                  accuracy: bool = True) -> list[dict]:
    """Each contender's setup and first epoch of ``workload`` in a fresh child process
    (``accuracy=False``: the guard checks the loss only)."""
    records = []
    for name in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name,
               "--child-workload", workload]
        if args.quick:
            cmd.append("--quick")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            records.append({"name": name, "status": "failed", "note": "timed out after 600 s"})
            warnings.append(f"workload {workload} (fresh process): {name} timed out")
            continue
        wall = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            rec = {"name": name, "status": "failed",
                   "note": f"child exited {proc.returncode}: {' | '.join(tail)}"[:300]}
            warnings.append(f"workload {workload} (fresh process): {name} {rec['note']}")
        else:
            rec = json.loads(lines[-1][len("RESULT "):])
            rec["process_wall_s"] = wall
            if rec["status"] == "ok":
                check(rec, spec.classes, f"workload {workload} (fresh process)", warnings,
                      accuracy=accuracy)
        records.append(rec)
        if rec["status"] == "ok":
            log(f"  {name:15s} import {rec['import_s']:.2f} s, first epoch "
                f"{rec['first_epoch_s']:.2f} s, peak RSS {rec['peak_rss_bytes'] / 2**20:.0f} MiB")
        else:
            log(f"  {name:15s} {rec['status']}: {rec['note']}")
    return records


def run_cold_start(spec: Spec, args, steady: dict, warnings: list) -> dict:
    from benchmarks.contenders import BY_NAME

    names = list(COLD_START_QUICK if args.quick else BY_NAME)
    if args.contenders is not None:
        names = [n for n in names if n in args.contenders]
    log(f"\n== Workload D: first epoch of A in a fresh process ({spec.samples} samples)")
    records = _run_children(names, "A", spec, args, warnings)
    for rec in records:
        if rec["status"] == "ok" and steady.get(rec["name"]):
            rec["steady_epoch_s"] = steady[rec["name"]]
            rec["overhead_s"] = rec["first_epoch_s"] - steady[rec["name"]]
    data_mib = spec.samples * (spec.in_dim + spec.classes) * 4 / 2**20
    return {"samples": spec.samples, "data_mib": data_mib, "contenders": records}


# E's first epochs in fresh processes: in one process, whoever builds first also compiles the
# jitted helpers (initializers' random draws) that later contenders then find compiled.
E_FRESH = ("fnnet-fit", "keras3-fit", "flax-nnx-split")


def run_fresh_e(args, warnings: list) -> list[dict]:
    names = [n for n in E_FRESH if args.contenders is None or n in args.contenders]
    log("\n== Workload E: first epoch in a fresh process per contender")
    # One epoch of E leaves every contender at chance (the timed in-process runs train longer
    # and are checked), so the guard here checks the loss only.
    return _run_children(names, "E", workload_e(args.quick), args, warnings, accuracy=False)


def child_main(name: str, quick: bool, workload: str = "A") -> int:
    """A fresh process: import, build, compile and train one epoch; print JSON."""
    if workload == "E":
        spec = workload_e(quick)
    else:
        spec = workload_a(quick)
    x, y = make_data(spec)
    rec = {"name": name, "status": "ok", "note": "", "base_rss_bytes": current_rss_bytes()}
    t0 = time.perf_counter()
    from benchmarks.base import Skip

    if workload == "E":
        from benchmarks.contenders_conv import CONTENDERS
        by_name = {c.name: c for c in CONTENDERS}
    else:
        from benchmarks.contenders import BY_NAME as by_name

    c = by_name[name]()
    try:
        c.load()
    except Skip as e:
        rec.update(status="skipped", note=str(e))
        print("RESULT " + json.dumps(rec), flush=True)
        return 0
    rec["import_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    c.setup(spec, x, y)
    rec["final_loss"], rec["final_acc"] = c.first_epoch()
    rec["first_epoch_s"] = time.perf_counter() - t1
    rec["peak_rss_bytes"] = peak_rss_bytes()
    print("RESULT " + json.dumps(rec), flush=True)
    return 0


# ------------------------------------------------------------------------------- main


def capped(args, rounds: int) -> argparse.Namespace:
    """``args`` with at most ``rounds`` rounds (for the workloads whose epochs take seconds)."""
    return argparse.Namespace(**{**vars(args), "rounds": min(args.rounds, rounds)})


def run_workloads(args, results: dict, warnings: list) -> None:
    from benchmarks import ensembles, inference, loops, scaling, streaming
    from benchmarks.timing import conv_probe, matmul_probe

    work = results["workloads"]
    probe = matmul_probe(args.quick)
    probe.sample(3)
    log(f"Matmul peak ({probe.what}): {probe.result()['gflops']:.1f} GFLOP/s so far")
    spec_a = workload_a(args.quick)
    live_a, live_b, steady = None, {}, {}
    if "A" in args.workloads or "B" in args.workloads:
        from benchmarks.contenders import ALL, QUICK

        mlp = QUICK if args.quick and args.contenders is None else ALL
    if "A" in args.workloads:
        work["A"], live_a = run_training(spec_a, mlp, args, 1, probe, warnings)
        steady = {r["name"]: r.get("median_s") for r in work["A"]["contenders"]}
    if "B" in args.workloads:
        # B's epochs take milliseconds: several per round keep the median stable.
        work["B"], live_b = run_training(workload_b(args.quick), mlp, args,
                                         3 if args.quick else 10, None, warnings)
    if "C" in args.workloads:
        records_a = work.get("A", {}).get("contenders")
        work["C"] = inference.run_inference(spec_a, live_a, records_a, args, warnings)
    live_a = None
    gc.collect()
    if "S" in args.workloads:
        work["S"] = streaming.run_streaming(args, warnings)
    if "L" in args.workloads:
        reuse = (work["B"]["contenders"], live_b) if "B" in work else None
        work["L"] = loops.run_loops(args, warnings, reuse)
    live_b = None
    results["matmul"] = probe.result()
    probe = None
    if "E" in args.workloads:
        from benchmarks.contenders_conv import CONTENDERS

        probe = conv_probe(args.quick)
        probe.sample(3)
        log(f"Convolution peak ({probe.what}): {probe.result()['gflops']:.1f} GFLOP/s so far")
        # An epoch of E takes seconds per contender: at most 3 rounds.
        work["E"], _ = run_training(workload_e(args.quick), CONTENDERS, capped(args, 3), 1,
                                    probe, warnings)
        results["conv"] = probe.result()
        probe = None
        work["E"]["fresh"] = run_fresh_e(args, warnings)
    if "F" in args.workloads:
        from benchmarks.contenders_seq import ATTENTION_CONTENDERS, LSTM_CONTENDERS

        lstm, attention = workload_f(args.quick)
        work["F1"], _ = run_training(lstm, LSTM_CONTENDERS, capped(args, 3), 1, None, warnings)
        work["F2"], _ = run_training(attention, ATTENTION_CONTENDERS, capped(args, 3), 1, None,
                                     warnings)
    gc.collect()
    for key, peak in (("A", "matmul"), ("E", "conv")):
        if key in work:
            set_peak(work[key], results[peak])
    if "K" in args.workloads:
        work["K"] = ensembles.run_ensembles(args, warnings)
    if "Z" in args.workloads:
        work["Z"] = scaling.run_scaling(args, warnings)
        path = scaling.plot(work["Z"], plot_path(args.json), results["machine"])
        work["Z"]["plot"] = None if path is None else path.name
    gc.collect()
    if "D" in args.workloads:
        work["D"] = run_cold_start(spec_a, args, steady, warnings)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.contenders is not None:
        args.contenders = [n.strip() for n in args.contenders.split(",") if n.strip()]
    if args.child:
        return child_main(args.child, args.quick, args.child_workload)
    if args.contenders is not None:
        known = contender_names()
        unknown = sorted(set(args.contenders) - known)
        if unknown:
            raise SystemExit(f"unknown contenders {unknown}; choose from {sorted(known)}")

    from benchmarks import report, timing
    from benchmarks.common import machine_info

    timing.CHECK_ACCURACY = not args.quick

    t_start = time.perf_counter()
    warnings: list[str] = []
    results = {"config": {"quick": args.quick, "rounds": args.rounds, "z_grid": args.z_grid,
                          "workloads": args.workloads, "contenders": args.contenders,
                          "argv": sys.argv[1:]},
               "machine": machine_info(), "load_average_start": load_average(),
               "workloads": {}, "warnings": warnings}
    log(f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"JAX {results['machine']['jax']} on {results['machine']['backend']}; "
        f"workloads {','.join(args.workloads)}")
    run_workloads(args, results, warnings)
    results["wall_s"] = time.perf_counter() - t_start
    results["load_average_end"] = load_average()

    md = report.markdown(results)
    log("\n" + md)
    for w in warnings:
        log(f"WARNING: {w}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    args.json.with_suffix(".md").write_text(md)
    log(f"Wrote {args.json} and {args.json.with_suffix('.md')} ({results['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
