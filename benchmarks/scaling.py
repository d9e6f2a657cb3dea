"""Workload Z: how one epoch's time scales with the data size and with the network's width.

Two sweeps of the MLP ``784 -> hidden (relu) -> 10``, batch 128: data sizes at A's width (512),
then widths at a fixed size. At each point ``jax-scan-epoch``, ``fnnet-fit`` and
``keras3-fit`` are built, warmed up and timed over interleaved rounds, as in A. From each
sweep and contender: a least-squares line ``time = a + b * work`` (work = samples, or FLOPs per
epoch for the width sweep), whose intercept ``a`` is the fixed overhead per epoch; the work
where ``a`` falls below 10% of the epoch (``a / (a + b w) < 0.1``, i.e. ``w > 9 a / b``); and
the slope of ``log time`` against ``log work`` (1 = time proportional to work).
"""

from __future__ import annotations

import gc
from pathlib import Path

from benchmarks.tables import num, table
from benchmarks.timing import check, log, prepare, run_rounds, summarize

CONTENDERS = ("jax-scan-epoch", "fnnet-fit", "keras3-fit")


def fit_lines(xs: list[float], ts: list[float]) -> dict:
    """The linear fit ``t = a + b x``, the 10% crossing ``9 a / b``, and the log-log slope."""
    import numpy as np

    x, t = np.asarray(xs, np.float64), np.asarray(ts, np.float64)
    if len(x) < 2:
        return {}
    b, a = np.polyfit(x, t, 1)
    slope = float(np.polyfit(np.log(x), np.log(t), 1)[0])
    crossing = 9 * a / b if a > 0 and b > 0 else 0.0
    return {"intercept_s": float(a), "per_unit_s": float(b), "loglog_slope": slope,
            "overhead_below_10pct_at": float(crossing),
            "overhead_frac": [float(a / ti) if a > 0 else 0.0 for ti in t]}


def run_scaling(args, warnings: list) -> dict:
    from benchmarks.common import make_data, workload_z
    from benchmarks.contenders import SCALING

    by_size, by_width = workload_z(args.z_grid)
    rounds = 1 if args.quick else min(args.rounds, 3)
    # --quick leaves Keras out (its compiles are the slowest), unless asked for by name.
    classes = [c for c in SCALING
               if not (args.quick and args.contenders is None and c.name == "keras3-fit")]
    points, measured = [], {}
    for sweep, specs in (("samples", by_size), ("width", by_width)):
        for spec in specs:
            if (spec.samples, spec.hidden) in measured:  # the sweeps cross at this point
                points.append({**measured[spec.samples, spec.hidden], "sweep": sweep})
                continue
            log(f"\n== Workload Z ({sweep}): {spec.title}")
            x, y = make_data(spec)
            records, live = prepare(spec, x, y, classes, args.contenders, warnings)
            run_rounds(records, live, rounds, 1, warnings, f"workload Z ({spec.title})")
            summarize(spec, records, None)
            for rec in records:
                if rec.get("median_s"):
                    check(rec, spec.classes, f"workload Z ({spec.title})", warnings)
            points.append({"sweep": sweep, "samples": spec.samples, "hidden": spec.hidden,
                           "flops_per_epoch": spec.flops_per_sample() * spec.samples,
                           "contenders": {r["name"]: {k: r.get(k) for k in (
                               "status", "note", "times_s", "median_s", "min_s", "final_acc")}
                               for r in records}})
            measured[spec.samples, spec.hidden] = points[-1]
            live.clear()
            del x, y
            gc.collect()
    fits = {}
    for sweep, work_key in (("samples", "samples"), ("width", "flops_per_epoch")):
        fits[sweep] = {}
        for name in CONTENDERS:
            pts = [(p[work_key], p["contenders"][name]["median_s"]) for p in points
                   if p["sweep"] == sweep and (p["contenders"].get(name) or {}).get("median_s")]
            if len(pts) >= 2:
                fits[sweep][name] = {"work": work_key, **fit_lines(*zip(*pts, strict=True))}
    return {"grid": args.z_grid, "rounds": rounds, "batch": by_size[0].batch, "width_sweep_samples":
            by_width[0].samples, "points": points, "fits": fits}


def plot(w: dict, path: Path, machine: dict) -> Path | None:
    """The two log-log panels, saved to ``path``; None (with a message) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        log(f"  no plot: matplotlib is missing ({e})")
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for ax, sweep, key, label in (
            (axes[0], "samples", "samples", "samples per epoch (width 512)"),
            (axes[1], "width", "flops_per_epoch",
             f"training FLOPs per epoch (widths, {w['width_sweep_samples']:,} samples)")):
        pts = [p for p in w["points"] if p["sweep"] == sweep]
        for name in CONTENDERS:
            xy = [(p[key], p["contenders"][name]["median_s"]) for p in pts
                  if (p["contenders"].get(name) or {}).get("median_s")]
            if xy:
                ax.plot(*zip(*xy, strict=True), "o-", label=name)
        if sweep == "width":
            for p in pts:
                ax.annotate(f"h={p['hidden']}", (p[key], ax.get_ylim()[0]), fontsize=7,
                            ha="center", va="bottom")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per epoch (median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"One epoch of 784-h-10, batch {w['batch']}: {machine.get('cpu')}, "
                 f"{machine.get('backend')}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _work(value: float, unit: str) -> str:
    if unit == "samples":
        return f"{value:,.0f} samples"
    return f"{value / 1e9:,.2f} GFLOP" if value < 1e12 else f"{value / 1e12:,.2f} TFLOP"


def markdown(w: dict) -> str:
    parts = ["### Workload Z: scaling of one epoch with data size and width",
             f"\nGrid `{w.get('grid')}` (`--z-grid big` for 7 sizes x 7 widths). "
             f"Median of {w['rounds']} interleaved epoch(s) per point after one warm-up epoch "
             f"(fit contenders: second epoch of a 2-epoch fit). Plot: `{w.get('plot', '-')}`."]
    header = ["sweep", "samples", "hidden", "GFLOP/epoch"] + [f"`{n}` (s)" for n in CONTENDERS] \
        + ["fnnet x scan", "fnnet x keras"]
    rows = []
    for p in w["points"]:
        c = p["contenders"]
        t = {n: (c.get(n) or {}).get("median_s") for n in CONTENDERS}
        rows.append([p["sweep"], f"{p['samples']:,}", str(p["hidden"]),
                     num(p["flops_per_epoch"] / 1e9, ".2f")]
                    + [num(t[n], ".4f") for n in CONTENDERS]
                    + [num(t["fnnet-fit"] / t["jax-scan-epoch"], ".2f")
                       if t["fnnet-fit"] and t["jax-scan-epoch"] else "-",
                       num(t["fnnet-fit"] / t["keras3-fit"], ".2f")
                       if t["fnnet-fit"] and t["keras3-fit"] else "-"])
    parts.append("\n" + table(header, rows))
    fit_rows = []
    for sweep, by_name in w["fits"].items():
        for name, f in by_name.items():
            unit = f["work"]
            per_unit = (f"{f['per_unit_s'] * 1e6:.2f} us/sample" if unit == "samples"
                        else f"{f['per_unit_s'] * 1e9:.3f} s/GFLOP")
            crossing = f["overhead_below_10pct_at"]
            fit_rows.append([sweep, f"`{name}`", num(f["intercept_s"] * 1e3, ".1f"), per_unit,
                             "from the start" if crossing <= 0 else _work(crossing, unit),
                             num(f["loglog_slope"], ".2f"),
                             ", ".join(f"{100 * v:.0f}%" for v in f["overhead_frac"])])
    if fit_rows:
        parts.append(
            "\nLeast-squares fits per sweep: `time = a + b * work` (work = samples, or FLOPs "
            "per epoch for the width sweep). `a` is the fixed overhead per epoch; it falls "
            "below 10% of the epoch once work > 9a/b; the log-log slope is 1 when time is "
            "proportional to work (below 1: fixed costs still matter).\n\n"
            + table(["sweep", "contender", "fixed overhead a (ms)", "b", "overhead < 10% from",
                     "log-log slope", "a / epoch at each point"], fit_rows))
        fnnet = w["fits"].get("samples", {}).get("fnnet-fit")
        if fnnet:
            crossing = fnnet["overhead_below_10pct_at"]
            where = ("at every size measured" if crossing <= 0
                     else f"beyond about {crossing:,.0f} samples per epoch")
            parts.append(f"\nfnnet-fit: fixed overhead {fnnet['intercept_s'] * 1e3:.1f} ms per "
                         f"epoch, below 10% of the epoch {where}; log-log slope "
                         f"{fnnet['loglog_slope']:.2f}.")
    return "\n".join(parts)
