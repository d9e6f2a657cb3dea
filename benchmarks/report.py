"""Turns the results dict into Markdown tables (printed to the terminal and saved)."""

from __future__ import annotations

import math


def _num(value, fmt: str = ".3g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, fmt)


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_section(results: dict) -> str:
    m = results["machine"]
    mm = results.get("matmul")
    peers = ", ".join(f"{k} {m[k]}" for k in ("optax", "keras", "flax", "equinox", "fnnet")
                      if m.get(k))
    lines = [
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m.get('usable_cores')} usable), "
        f"{m['platform']}",
        f"- Python {m['python']}, JAX {m['jax']} (jaxlib {m['jaxlib']}), backend "
        f"`{m['backend']}`, numpy {m['numpy']}",
        f"- Peers: {peers}",
    ]
    if mm:
        lines.append(f"- Measured peak: {mm['n']}x{mm['n']} float32 matmul via jnp, best of "
                     f"{len(mm['times_s'])} {mm['best_s'] * 1e3:.0f} ms = **{mm['gflops']:.1f} "
                     f"GFLOP/s** (median {mm['gflops_median']:.1f})")
    cfg = results["config"]
    lines.append(f"- Mode: {'quick' if cfg['quick'] else 'full'}; rounds {cfg['rounds']}; "
                 f"workloads {','.join(cfg['workloads'])}; total wall "
                 f"{results.get('wall_s', 0):.0f} s; load average (1/5/15 min) "
                 f"{results.get('load_average_start')} at start, "
                 f"{results.get('load_average_end')} at end on {m['cores']} cores")
    return "\n".join(lines)


def training_section(w: dict) -> str:
    spec = w["spec"]
    header = ["contender", "median epoch (s)", "min (s)", "samples/s", "x jax-scan-epoch",
              "x keras3-fit",
              "GFLOP/s", "% of matmul peak", "final loss", "final acc", "note"]
    rows = []
    for r in w["contenders"]:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`"] + ["-"] * 9 + [f"{r['status']}: {r['note']}"])
            continue
        rows.append([
            f"`{r['name']}`", _num(r["median_s"], ".4f"), _num(r.get("min_s"), ".4f"),
            _num(r["samples_per_s"], ",.0f"),
            _ratio(r.get("x_roofline")), _ratio(r.get("x_keras")), _num(r["gflops"], ".1f"),
            _num(None if r["frac_peak"] is None else 100 * r["frac_peak"], ".1f"),
            _num(r["final_loss"], ".3g"), _num(r["final_acc"], ".3f"),
            r.get("note") or "",
        ])
    title = (f"### Workload {spec['key']}: {spec['title']}, {spec['samples']:,} samples, "
             f"{w['steps_per_epoch']} steps/epoch\n\nMedian of {w['timed_epochs']} timed "
             f"epochs per contender (after one warm-up epoch), interleaved over "
             f"{w['rounds']} rounds. `x ...` = median epoch time / that contender's "
             f"(lower is faster). GFLOP/s counts the {w.get('flops_per_sample', 0):,} matmul "
             f"FLOPs per sample actually computed (the usual 3 x forward estimate, "
             f"{w.get('nominal_flops_per_sample', 0):,}, is in the JSON as gflops_nominal).\n")
    return title + "\n" + _table(header, rows)


def inference_section(w: dict) -> str:
    header = ["contender", "evaluate (s)", "evaluate samples/s", "predict (s)",
              "predict samples/s", "predict x jax-jit-loop", "predict x keras3-fit",
              "eval acc", "note"]
    rows = []
    for r in w["contenders"]:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`"] + ["-"] * 7 + [f"{r['status']}: {r['note']}"])
            continue
        rows.append([
            f"`{r['name']}`", _num(r["evaluate_s"], ".4f"), _num(r["evaluate_samples_per_s"],
                                                                  ",.0f"),
            _num(r["predict_s"], ".4f"), _num(r["predict_samples_per_s"], ",.0f"),
            _ratio(r.get("predict_x_jit_loop")), _ratio(r.get("predict_x_keras")),
            _num(r.get("eval_acc"), ".3f"), r.get("note") or "",
        ])
    title = (f"### Workload C: evaluate and predict over workload A's {w['samples']:,} samples, "
             f"batch {w['batch']}\n\nMedian of {w['rounds']} rounds on the models trained in A.\n")
    return title + "\n" + _table(header, rows)


def cold_start_section(w: dict) -> str:
    header = ["contender", "import (s)", "build + compile + first epoch (s)",
              "import + first epoch (s)", "steady epoch from A (s)", "compile overhead (s)",
              "peak RSS (MiB)", "process wall (s)", "note"]
    rows = []
    for r in w["contenders"]:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`"] + ["-"] * 7 + [f"{r['status']}: {r['note']}"])
            continue
        rows.append([
            f"`{r['name']}`", _num(r["import_s"], ".2f"), _num(r["first_epoch_s"], ".2f"),
            _num(r["import_s"] + r["first_epoch_s"], ".2f"), _num(r.get("steady_epoch_s"), ".3f"),
            _num(r.get("overhead_s"), ".2f"), _num(r["peak_rss_bytes"] / 2**20, ".0f"),
            _num(r["process_wall_s"], ".2f"), r.get("note") or "",
        ])
    title = (f"### Workload D: time to the first finished epoch of A ({w['samples']:,} samples), "
             f"one fresh process per contender\n\n`import` = importing jax/optax and the "
             f"framework; the next column starts with host numpy data and ends when the first "
             f"epoch's metrics are on the host. Peak RSS is the child's VmHWM (the data, "
             f"{w['data_mib']:.0f} MiB as numpy, is part of it). Compile overhead = first epoch "
             f"- steady epoch.\n")
    return title + "\n" + _table(header, rows)


def markdown(results: dict) -> str:
    parts = ["## fnnet benchmarks", "", machine_section(results)]
    work = results["workloads"]
    for key in ("A", "B"):
        if key in work:
            parts += ["", training_section(work[key])]
    if "C" in work:
        parts += ["", inference_section(work["C"])]
    if "D" in work:
        parts += ["", cold_start_section(work["D"])]
    if results.get("warnings"):
        parts += ["", "### Warnings", ""] + [f"- {w}" for w in results["warnings"]]
    return "\n".join(parts) + "\n"
