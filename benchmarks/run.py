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
from benchmarks.timing import MatmulProbe, check, log, run_training, set_peak  # noqa: E402

DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"
COLD_START_QUICK = ("jax-scan-epoch", "jax-jit-loop", "fnnet-fit", "keras3-fit")
DEFAULT_WORKLOADS = ("A", "B", "C", "D")
# Run order (D's child processes last, once this process's memory is freed).
ALL_WORKLOADS = ("A", "B", "C", "S", "E", "F", "K", "Z", "D")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: smaller data, 2 rounds, a smaller matmul")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds (default 5, or 2 with --quick; K and Z use at most 3)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON,
                   help="where to write the JSON results; the Markdown goes next to it (.md), "
                        "Z's plot to scaling.png in the same folder")
    p.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                   help=f"comma-separated subset of {','.join(ALL_WORKLOADS)}, or 'all' "
                        f"(default {','.join(DEFAULT_WORKLOADS)})")
    p.add_argument("--contenders", default=None,
                   help="comma-separated subset of contender names (default: all)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    chosen = {w.strip().upper() for w in args.workloads.split(",") if w.strip()}
    if "ALL" in chosen:
        chosen = (chosen - {"ALL"}) | set(ALL_WORKLOADS)
    bad = sorted(chosen - set(ALL_WORKLOADS))
    if bad:
        p.error(f"--workloads takes a subset of {','.join(ALL_WORKLOADS)} or 'all'; got {bad}")
    args.workloads = [w for w in ALL_WORKLOADS if w in chosen]
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.rounds < 1:
        p.error(f"--rounds must be at least 1; got {args.rounds}")
    return args


def contender_names() -> set[str]:
    from benchmarks import contenders, contenders_conv, contenders_seq

    groups = (contenders.ALL, contenders.STREAMING, contenders.SCALING, contenders_conv.CONTENDERS,
              contenders_seq.LSTM_CONTENDERS, contenders_seq.ATTENTION_CONTENDERS)
    return {c.name for group in groups for c in group}


# ------------------------------------------------------------------------ workload D


def run_cold_start(spec: Spec, args, steady: dict, warnings: list) -> dict:
    from benchmarks.contenders import BY_NAME

    names = list(COLD_START_QUICK if args.quick else BY_NAME)
    if args.contenders is not None:
        names = [n for n in names if n in args.contenders]
    log(f"\n== Workload D: first epoch of A in a fresh process ({spec.samples} samples)")
    records = []
    for name in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name]
        if args.quick:
            cmd.append("--quick")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            records.append({"name": name, "status": "failed", "note": "timed out after 600 s"})
            warnings.append(f"workload D: {name} timed out")
            continue
        wall = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            rec = {"name": name, "status": "failed",
                   "note": f"child exited {proc.returncode}: {' | '.join(tail)}"[:300]}
            warnings.append(f"workload D: {name} {rec['note']}")
        else:
            rec = json.loads(lines[-1][len("RESULT "):])
            rec["process_wall_s"] = wall
            if rec["status"] == "ok":
                if steady.get(name):
                    rec["steady_epoch_s"] = steady[name]
                    rec["overhead_s"] = rec["first_epoch_s"] - steady[name]
                check(rec, spec.classes, "workload D", warnings)
        records.append(rec)
        if rec["status"] == "ok":
            log(f"  {name:15s} import {rec['import_s']:.2f} s, first epoch "
                f"{rec['first_epoch_s']:.2f} s, peak RSS {rec['peak_rss_bytes'] / 2**20:.0f} MiB")
        else:
            log(f"  {name:15s} {rec['status']}: {rec['note']}")
    data_mib = spec.samples * (spec.in_dim + spec.classes) * 4 / 2**20
    return {"samples": spec.samples, "data_mib": data_mib, "contenders": records}


def child_main(name: str, quick: bool) -> int:
    """Workload D in a fresh process: import, build, compile and train one epoch; print JSON."""
    spec = workload_a(quick)
    x, y = make_data(spec)
    rec = {"name": name, "status": "ok", "note": "", "base_rss_bytes": current_rss_bytes()}
    t0 = time.perf_counter()
    from benchmarks.base import Skip
    from benchmarks.contenders import BY_NAME

    c = BY_NAME[name]()
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


def run_workloads(args, results: dict, warnings: list) -> None:
    from benchmarks import ensembles, inference, scaling, streaming

    work = results["workloads"]
    probe = MatmulProbe(args.quick)
    probe.sample(3)
    log(f"Matmul peak ({probe.n}^2 float32): {probe.result()['gflops']:.1f} GFLOP/s so far")
    spec_a = workload_a(args.quick)
    live_a, steady = None, {}
    if "A" in args.workloads:
        from benchmarks.contenders import ALL

        work["A"], live_a = run_training(spec_a, ALL, args, 1, probe, warnings)
        steady = {r["name"]: r.get("median_s") for r in work["A"]["contenders"]}
    if "B" in args.workloads:
        from benchmarks.contenders import ALL

        # B's epochs take milliseconds: several per round keep the median stable.
        work["B"], _ = run_training(workload_b(args.quick), ALL, args, 3 if args.quick else 10,
                                    None, warnings)
    if "C" in args.workloads:
        records_a = work.get("A", {}).get("contenders")
        work["C"] = inference.run_inference(spec_a, live_a, records_a, args, warnings)
    live_a = None
    gc.collect()
    if "S" in args.workloads:
        work["S"] = streaming.run_streaming(args, warnings)
    if "E" in args.workloads:
        from benchmarks.contenders_conv import CONTENDERS

        work["E"], _ = run_training(workload_e(args.quick), CONTENDERS, args, 1, probe, warnings)
    if "F" in args.workloads:
        from benchmarks.contenders_seq import ATTENTION_CONTENDERS, LSTM_CONTENDERS

        lstm, attention = workload_f(args.quick)
        work["F1"], _ = run_training(lstm, LSTM_CONTENDERS, args, 1, None, warnings)
        work["F2"], _ = run_training(attention, ATTENTION_CONTENDERS, args, 1, None, warnings)
    gc.collect()
    results["matmul"] = probe.result()
    probe = None
    for key in ("A", "E"):
        if key in work:
            set_peak(work[key], results["matmul"]["gflops"])
    if "K" in args.workloads:
        work["K"] = ensembles.run_ensembles(args, warnings)
    if "Z" in args.workloads:
        work["Z"] = scaling.run_scaling(args, warnings)
        path = scaling.plot(work["Z"], args.json.parent / "scaling.png", results["machine"])
        work["Z"]["plot"] = None if path is None else path.name
    gc.collect()
    if "D" in args.workloads:
        work["D"] = run_cold_start(spec_a, args, steady, warnings)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.contenders is not None:
        args.contenders = [n.strip() for n in args.contenders.split(",") if n.strip()]
    if args.child:
        return child_main(args.child, args.quick)
    if args.contenders is not None:
        known = contender_names()
        unknown = sorted(set(args.contenders) - known)
        if unknown:
            raise SystemExit(f"unknown contenders {unknown}; choose from {sorted(known)}")

    from benchmarks import report
    from benchmarks.common import machine_info

    t_start = time.perf_counter()
    warnings: list[str] = []
    results = {"config": {"quick": args.quick, "rounds": args.rounds,
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
