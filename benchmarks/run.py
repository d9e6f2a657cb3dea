"""Runs fnnet's benchmark suite: ``python benchmarks/run.py [--quick] [--rounds N] ...``.

Everything timed runs in this one process, interleaved round by round, and each table reports
medians; workload D (cold start) runs each contender in a fresh child process of this script.
See ``benchmarks/README.md`` for what each contender and workload is.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import time
import traceback
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
)

DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"
INFERENCE = ("jax-jit-loop", "fnnet-fit", "keras3-fit")
COLD_START_QUICK = ("jax-jit-loop", "fnnet-fit", "keras3-fit")


def log(msg: str) -> None:
    print(msg, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: A on 8,192 samples, 2 rounds, a smaller matmul (~2 min)")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds for A, B and C (default 5, or 2 with --quick)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON,
                   help="where to write the JSON results; the Markdown goes next to it (.md)")
    p.add_argument("--workloads", default="A,B,C,D", help="comma-separated subset of A,B,C,D")
    p.add_argument("--contenders", default=None,
                   help="comma-separated subset of contender names (default: all)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    bad = sorted(set(args.workloads) - {"A", "B", "C", "D"})
    if bad:
        p.error(f"--workloads takes a subset of A,B,C,D; got {bad}")
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.rounds < 1:
        p.error(f"--rounds must be at least 1; got {args.rounds}")
    return args


# ------------------------------------------------------------------------ measurements


class MatmulProbe:
    """The machine's float32 matmul GFLOP/s, sampled at the start and once per round of A.

    The peak is the fastest sample: a peak is an upper bound, and other work on a shared
    machine only slows runs down, so sampling alongside the contenders (rather than once,
    perhaps at a busy moment) keeps "% of peak" honest. The median is kept for reference.
    """

    def __init__(self, quick: bool):
        import jax
        import jax.numpy as jnp

        self.n = 2048 if quick else 4096
        ka, kb = jax.random.split(jax.random.key(0))
        self.a = jax.random.normal(ka, (self.n, self.n), jnp.float32)
        self.b = jax.random.normal(kb, (self.n, self.n), jnp.float32)
        self.matmul = jax.jit(jnp.matmul)
        self.matmul(self.a, self.b).block_until_ready()
        self.times: list[float] = []

    def sample(self, reps: int = 1) -> None:
        for _ in range(reps):
            t0 = time.perf_counter()
            self.matmul(self.a, self.b).block_until_ready()
            self.times.append(time.perf_counter() - t0)

    def result(self) -> dict:
        flops = 2 * self.n**3
        best, med = min(self.times), statistics.median(self.times)
        return {"n": self.n, "times_s": self.times, "best_s": best, "median_s": med,
                "gflops": flops / best / 1e9, "gflops_median": flops / med / 1e9}


def guard(name: str, loss: float, acc: float, classes: int, what: str) -> str | None:
    """A warning if a contender did not really train (so it cannot look fast by being broken)."""
    threshold = 1.5 / classes
    if not math.isfinite(loss):
        return f"{what}: {name}'s final loss is {loss}, not finite"
    if not acc > threshold:
        return (f"{what}: {name}'s final accuracy {acc:.3f} is not above chance "
                f"(threshold {threshold:.3f})")
    return None


def make_contenders(names):
    from benchmarks import contenders as cl

    chosen = cl.ALL if names is None else [cl.BY_NAME[n] for n in names]
    return [cls() for cls in chosen]


def prepare(spec: Spec, x, y, names, warnings: list) -> tuple[list[dict], dict]:
    """Loads, builds and warms up (one untimed epoch, compilation included) each contender."""
    from benchmarks.contenders import Skip

    records, live = [], {}
    for c in make_contenders(names):
        rec = {"name": c.name, "description": c.description, "status": "ok", "note": "",
               "times_s": []}
        records.append(rec)
        try:
            c.load()
        except Skip as e:
            rec.update(status="skipped", note=str(e))
            log(f"  {c.name:15s} skipped: {e}")
            continue
        try:
            t0 = time.perf_counter()
            c.setup(spec, x, y)
            rec["final_loss"], rec["final_acc"] = c.epoch()[:2]
            rec["warmup_s"] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - one broken contender must not stop the rest
            rec.update(status="failed", note=f"{type(e).__name__}: {e}"[:300])
            warnings.append(f"{spec.key}: {c.name} failed in setup/warm-up: {rec['note']}")
            log(f"  {c.name:15s} FAILED in warm-up:\n{traceback.format_exc(limit=4)}")
            continue
        live[c.name] = c
        log(f"  {c.name:15s} warm-up epoch {rec['warmup_s']:.2f} s "
            f"(loss {rec['final_loss']:.4f}, acc {rec['final_acc']:.3f})")
    return records, live


def run_training(spec: Spec, args, epochs_per_round: int, probe: MatmulProbe | None,
                 warnings: list) -> tuple[dict, dict]:
    log(f"\n== Workload {spec.key}: {spec.title}, {spec.samples} samples")
    x, y = make_data(spec)
    records, live = prepare(spec, x, y, args.contenders, warnings)
    by_name = {r["name"]: r for r in records}
    order = list(live)
    for rnd in range(args.rounds):
        # Rotate the order each round so no contender always runs right after the same one.
        k = rnd % max(len(order), 1)
        for name in order[k:] + order[:k]:
            rec = by_name[name]
            if rec["status"] != "ok":
                continue
            for _ in range(epochs_per_round):
                gc.collect()
                try:
                    t0 = time.perf_counter()
                    out = live[name].epoch()
                    dt = time.perf_counter() - t0
                    # fit-style contenders time their own steady-state epoch (see contenders)
                    loss, acc, dt = out if len(out) == 3 else (*out, dt)
                except Exception as e:  # noqa: BLE001
                    rec.update(status="failed", note=f"{type(e).__name__}: {e}"[:300])
                    warnings.append(f"{spec.key}: {name} failed while timed: {rec['note']}")
                    break
                rec["times_s"].append(dt)
                rec["final_loss"], rec["final_acc"] = loss, acc
        if probe is not None:
            probe.sample()
        summary = ", ".join(
            f"{n} {statistics.median(by_name[n]['times_s']):.3f}s" for n in order
            if by_name[n]["status"] == "ok" and by_name[n]["times_s"])
        log(f"  round {rnd + 1}/{args.rounds}: {summary}")

    flops_epoch = spec.flops_per_sample() * spec.samples
    peak_gflops = probe.result()["gflops"] if probe is not None else None
    for rec in records:
        if rec["status"] != "ok" or not rec["times_s"]:
            continue
        med = statistics.median(rec["times_s"])
        rec.update(median_s=med, min_s=min(rec["times_s"]), samples_per_s=spec.samples / med,
                   gflops=flops_epoch / med / 1e9,
                   gflops_nominal=spec.nominal_flops_per_sample() * spec.samples / med / 1e9)
        rec["frac_peak"] = rec["gflops"] / peak_gflops if peak_gflops else None
        warning = guard(rec["name"], rec["final_loss"], rec["final_acc"], spec.classes,
                        f"workload {spec.key}")
        if warning:
            warnings.append(warning)
            rec["note"] = "GUARD FAILED: " + warning
    for ref, field in (("jax-scan-epoch", "x_roofline"), ("keras3-fit", "x_keras")):
        ref_rec = by_name.get(ref)
        if ref_rec and ref_rec.get("median_s"):
            for rec in records:
                if rec.get("median_s"):
                    rec[field] = rec["median_s"] / ref_rec["median_s"]
    result = {"spec": spec._asdict(), "steps_per_epoch": spec.steps_per_epoch(),
              "flops_per_sample": spec.flops_per_sample(),
              "nominal_flops_per_sample": spec.nominal_flops_per_sample(),
              "flops_per_epoch": flops_epoch, "rounds": args.rounds,
              "timed_epochs": args.rounds * epochs_per_round, "contenders": records}
    return result, live


def run_inference(spec: Spec, live_a: dict | None, records_a: list[dict] | None, args,
                  warnings: list) -> dict:
    import jax
    import jax.numpy as jnp

    from benchmarks.contenders import mlp_logits

    log(f"\n== Workload C: evaluate / predict over {spec.samples} samples, batch {spec.batch}")
    names = [n for n in INFERENCE if args.contenders is None or n in args.contenders]
    if live_a is None:  # C without A: train the three models for one epoch first
        x, y = make_data(spec)
        pre, live_a = prepare(spec, x, y, names, warnings)
        skipped = {r["name"]: r for r in pre if r["status"] != "ok"}
    else:
        skipped = {r["name"]: r for r in records_a or () if r["status"] != "ok"}
    records = []
    runs = {}
    for name in names:
        if name in live_a:
            c = live_a[name]
            runs[name] = (c.evaluate, c.predict)
            records.append({"name": name, "status": "ok", "note": "", "evaluate_times_s": [],
                            "predict_times_s": []})
        else:
            status = skipped.get(name, {}).get("status") or "skipped"
            note = "in workload A: " + (skipped.get(name, {}).get("note") or "not run")
            records.append({"name": name, "status": status, "note": note})
    if "jax-jit-loop" in live_a:
        ref = live_a["jax-jit-loop"]
        # One jitted call over the whole array: the inference roofline.
        full_apply = jax.jit(lambda p, x: jax.nn.softmax(mlp_logits(p, x)))

        @jax.jit
        def full_eval(p, x, y):
            logits = mlp_logits(p, x)
            loss = jnp.mean(-jnp.sum(y * jax.nn.log_softmax(logits), -1))
            return jnp.stack([loss, jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(y, -1))])

        def evaluate_full():
            loss, acc = jax.device_get(full_eval(ref.state[0], ref.x, ref.y))
            return float(loss), float(acc)

        runs["jax-jit-full"] = (evaluate_full,
                                lambda: full_apply(ref.state[0], ref.x).block_until_ready())
        records.insert(0, {"name": "jax-jit-full", "status": "ok",
                           "note": "one jitted call over all samples, data on device",
                           "evaluate_times_s": [], "predict_times_s": []})
    by_name = {r["name"]: r for r in records}
    for name, (evaluate, predict) in runs.items():
        try:
            by_name[name]["eval_loss"], by_name[name]["eval_acc"] = evaluate()
            out = predict()
            if tuple(out.shape) != (spec.samples, spec.classes):
                warnings.append(f"workload C: {name}.predict returned shape {tuple(out.shape)}")
        except Exception as e:  # noqa: BLE001
            by_name[name].update(status="failed", note=f"{type(e).__name__}: {e}"[:300])
            warnings.append(f"workload C: {name} failed: {by_name[name]['note']}")
    order = [n for n in runs if by_name[n]["status"] == "ok"]
    for rnd in range(args.rounds):
        k = rnd % max(len(order), 1)
        for name in order[k:] + order[:k]:
            evaluate, predict = runs[name]
            for kind, fn in (("evaluate", evaluate), ("predict", predict)):
                gc.collect()
                t0 = time.perf_counter()
                fn()
                by_name[name][f"{kind}_times_s"].append(time.perf_counter() - t0)
    for rec in records:
        if rec["status"] != "ok":
            continue
        for kind in ("evaluate", "predict"):
            med = statistics.median(rec[f"{kind}_times_s"])
            rec[f"{kind}_s"] = med
            rec[f"{kind}_samples_per_s"] = spec.samples / med
        warning = guard(rec["name"], rec["eval_loss"], rec["eval_acc"], spec.classes,
                        "workload C evaluate")
        if warning:
            warnings.append(warning)
            rec["note"] = "GUARD FAILED: " + warning
        log(f"  {rec['name']:15s} evaluate {rec['evaluate_s']:.4f} s, "
            f"predict {rec['predict_s']:.4f} s")
    for ref, field in (("jax-jit-loop", "predict_x_jit_loop"), ("keras3-fit", "predict_x_keras")):
        if by_name.get(ref, {}).get("predict_s"):
            for rec in records:
                if rec.get("predict_s"):
                    rec[field] = rec["predict_s"] / by_name[ref]["predict_s"]
    return {"samples": spec.samples, "batch": spec.batch, "rounds": args.rounds,
            "contenders": records}


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
                warning = guard(name, rec["final_loss"], rec["final_acc"], spec.classes,
                                "workload D")
                if warning:
                    warnings.append(warning)
                    rec["note"] = "GUARD FAILED: " + warning
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
    from benchmarks.contenders import BY_NAME, Skip

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


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.contenders is not None:
        args.contenders = [n.strip() for n in args.contenders.split(",") if n.strip()]
    if args.child:
        return child_main(args.child, args.quick)
    if args.contenders is not None:
        from benchmarks.contenders import BY_NAME

        unknown = sorted(set(args.contenders) - set(BY_NAME))
        if unknown:
            raise SystemExit(f"unknown contenders {unknown}; choose from {sorted(BY_NAME)}")

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
        f"JAX {results['machine']['jax']} on {results['machine']['backend']}")
    probe = MatmulProbe(args.quick)
    probe.sample(3)
    log(f"Matmul peak ({probe.n}^2 float32): {probe.result()['gflops']:.1f} GFLOP/s so far")

    spec_a = workload_a(args.quick)
    live_a, steady = None, {}
    if "A" in args.workloads:
        results["workloads"]["A"], live_a = run_training(spec_a, args, 1, probe, warnings)
        steady = {r["name"]: r.get("median_s") for r in results["workloads"]["A"]["contenders"]}
    if "B" in args.workloads:
        # B's epochs take milliseconds: several per round keep the median stable.
        results["workloads"]["B"], _ = run_training(workload_b(args.quick), args,
                                                    3 if args.quick else 10, None, warnings)
    if "C" in args.workloads:
        records_a = results["workloads"].get("A", {}).get("contenders")
        results["workloads"]["C"] = run_inference(spec_a, live_a, records_a, args, warnings)
    live_a = None
    gc.collect()
    results["matmul"] = probe.result()
    probe = None
    if "A" in results["workloads"]:
        for rec in results["workloads"]["A"]["contenders"]:
            if rec.get("gflops"):
                rec["frac_peak"] = rec["gflops"] / results["matmul"]["gflops"]
    if "D" in args.workloads:
        results["workloads"]["D"] = run_cold_start(spec_a, args, steady, warnings)
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
