"""Turns the results dict into Markdown tables (printed to the terminal and saved).

The tables of A, B, D, E and F live here; C, S, L, K and Z, whose measurements are their own,
keep their tables next to them (``inference.py``, ``streaming.py``, ``loops.py``,
``ensembles.py``, ``scaling.py``).
"""

from __future__ import annotations

from benchmarks import ensembles, inference, loops, scaling, streaming
from benchmarks.tables import num, ratio, table


def machine_section(results: dict) -> str:
    m = results["machine"]
    peers = ", ".join(f"{k} {m[k]}" for k in ("optax", "keras", "flax", "equinox", "fnnet")
                      if m.get(k))
    lines = [
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m.get('usable_cores')} usable), "
        f"{m['platform']}",
        f"- Python {m['python']}, JAX {m['jax']} (jaxlib {m['jaxlib']}), backend "
        f"`{m['backend']}` ({', '.join(m.get('devices') or [])}), numpy {m['numpy']}",
        f"- Peers: {peers}",
    ]
    for key in ("matmul", "conv"):
        pk = results.get(key)
        if pk:
            lines.append(f"- Measured {key} peak: {pk['what']} via jax.jit, best of "
                         f"{len(pk['times_s'])} {pk['best_s'] * 1e3:.0f} ms = "
                         f"**{pk['gflops']:.1f} GFLOP/s** (median {pk['gflops_median']:.1f})")
    cfg = results["config"]
    mode = "QUICK (smoke test: tiny sizes, not for comparison)" if cfg["quick"] else "full"
    lines.append(f"- Mode: {mode}; rounds {cfg['rounds']}; "
                 f"workloads {','.join(cfg['workloads'])}; total wall "
                 f"{results.get('wall_s', 0):.0f} s; load average (1/5/15 min) "
                 f"{results.get('load_average_start')} at start, "
                 f"{results.get('load_average_end')} at end on {m['cores']} cores")
    return "\n".join(lines)


def _pair_note(w: dict, name: str, ref: str, what: str) -> str:
    by_name = {r["name"]: r for r in w["contenders"]}
    a, b = by_name.get(name, {}), by_name.get(ref, {})
    if not (a.get("median_s") and b.get("median_s")):
        return ""
    return (f"\n\n{what}: `{name}` / `{ref}` = {a['median_s'] / b['median_s']:.2f}x (median), "
            f"{a['min_s'] / b['min_s']:.2f}x (min).")


def training_section(w: dict) -> str:
    spec = w["spec"]
    flops = bool(w.get("flops_per_sample"))
    peak_name = "conv" if "conv" in (w.get("peak") or {}).get("what", "") else "matmul"
    header = ["contender", "median epoch (s)", "min (s)", "samples/s", "x jax-scan-epoch",
              "x keras3-fit", "setup + first epoch (s)"] + (
              ["GFLOP/s", f"% of {peak_name} peak"] if flops else []) + [
              "final loss", "final acc", "note"]
    rows = []
    for r in w["contenders"]:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`"] + ["-"] * (len(header) - 2)
                        + [f"{r['status']}: {r['note']}"])
            continue
        frac = r.get("frac_peak")
        rows.append([
            f"`{r['name']}`", num(r.get("median_s"), ".4f"), num(r.get("min_s"), ".4f"),
            num(r.get("samples_per_s"), ",.0f"),
            ratio(r.get("x_roofline")), ratio(r.get("x_keras")),
            num(r.get("first_epoch_s"), ".2f")]
            + ([num(r.get("gflops"), ".1f"), num(None if frac is None else 100 * frac, ".1f")]
               if flops else [])
            + [num(r.get("final_loss"), ".3g"), num(r.get("final_acc"), ".3f"),
               r.get("note") or ""])
    title = (f"### Workload {spec['key']}: {spec['title']}, {spec['samples']:,} samples, "
             f"{w['steps_per_epoch']} steps/epoch\n\nMedian of {w['timed_epochs']} timed "
             f"epochs per contender (after one warm-up epoch), interleaved over "
             f"{w['rounds']} rounds. `x ...` = median epoch time / that contender's "
             f"(lower is faster). The first epoch (a `fit(epochs=1)` call for the fit contenders) "
             f"includes compilation and is not in the median.")
    if flops:
        title += (f" GFLOP/s counts the {w['flops_per_sample']:,} FLOPs per training sample "
                  f"actually computed (formula in the README; the usual 3 x forward estimate, "
                  f"{w['nominal_flops_per_sample']:,}, is in the JSON as gflops_nominal).")
    notes = _pair_note(w, "fnnet-step", "jax-jit-loop",
                       "fnnet's `make_train_step`, jitted and called from the same Python loop "
                       "as the hand-written step")
    return title + "\n\n" + table(header, rows) + notes + _fresh_section(w.get("fresh"))


def _fresh_section(records: list | None) -> str:
    """The first epoch in a fresh process per contender (E), against Keras's."""
    if not records:
        return ""
    keras = next((r["first_epoch_s"] for r in records
                  if r["name"] == "keras3-fit" and r["status"] == "ok"), None)
    rows = []
    for r in records:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`", "-", "-", "-", f"{r['status']}: {r['note']}"])
            continue
        rows.append([f"`{r['name']}`", num(r["import_s"], ".2f"), num(r["first_epoch_s"], ".2f"),
                     ratio(None if keras is None else r["first_epoch_s"] / keras), ""])
    out = ("\n\nThe same first epoch in a fresh process per contender (in one process, whoever "
           "builds first also compiles jitted helpers, such as the initializers' random draws, "
           "that later contenders find compiled). `build + compile + first epoch` starts with "
           "host numpy data, after the import.\n\n"
           + table(["contender", "import (s)", "build + compile + first epoch (s)",
                    "x keras3-fit", "note"], rows))
    fnnet = next((r for r in records if r["name"] == "fnnet-fit" and r["status"] == "ok"), None)
    if fnnet is not None and keras is not None:
        x = fnnet["first_epoch_s"] / keras
        out += (f"\n\nTarget: fnnet's first epoch (with compilation) no slower than Keras's: "
                f"{x:.2f}x, {'met' if x <= 1.0 else 'NOT met'}.")
    return out


def cold_start_section(w: dict) -> str:
    header = ["contender", "import (s)", "build + compile + first epoch (s)",
              "import + first epoch (s)", "steady epoch from A (s)", "compile overhead (s)",
              "peak RSS (MiB)", "RSS x jax-scan-epoch", "process wall (s)", "note"]
    by_name = {r["name"]: r for r in w["contenders"]}
    scan_rss = by_name.get("jax-scan-epoch", {}).get("peak_rss_bytes")
    rows = []
    for r in w["contenders"]:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`"] + ["-"] * 8 + [f"{r['status']}: {r['note']}"])
            continue
        rows.append([
            f"`{r['name']}`", num(r["import_s"], ".2f"), num(r["first_epoch_s"], ".2f"),
            num(r["import_s"] + r["first_epoch_s"], ".2f"), num(r.get("steady_epoch_s"), ".3f"),
            num(r.get("overhead_s"), ".2f"), num(r["peak_rss_bytes"] / 2**20, ".0f"),
            ratio(r["peak_rss_bytes"] / scan_rss if scan_rss else None),
            num(r["process_wall_s"], ".2f"), r.get("note") or "",
        ])
    title = (f"### Workload D: time to the first finished epoch of A ({w['samples']:,} samples), "
             f"one fresh process per contender\n\n`import` = importing jax/optax and the "
             f"framework; the next column starts with host numpy data and ends when the first "
             f"epoch's metrics are on the host. Peak RSS is the child's VmHWM (the data, "
             f"{w['data_mib']:.0f} MiB as numpy, is part of it). Compile overhead = first epoch "
             f"- steady epoch.\n")
    fnnet = by_name.get("fnnet-fit", {}).get("peak_rss_bytes")
    check = ""
    if fnnet and scan_rss:
        verdict = "met" if fnnet <= 1.5 * scan_rss else "NOT met"
        check = (f"\n\nTarget: `fnnet-fit`'s peak RSS at most 1.5x the hand-written scan's: "
                 f"{fnnet / scan_rss:.2f}x, {verdict}.")
    return title + "\n" + table(header, rows) + check


def markdown(results: dict) -> str:
    parts = ["## fnnet benchmarks", "", machine_section(results)]
    work = results["workloads"]
    sections = [
        ("A", training_section), ("B", training_section), ("C", inference.markdown),
        ("S", streaming.markdown), ("L", loops.markdown), ("E", training_section), ("F1", training_section),
        ("F2", training_section), ("K", ensembles.markdown), ("Z", scaling.markdown),
        ("D", cold_start_section),
    ]
    for key, section in sections:
        if key in work:
            parts += ["", section(work[key])]
    if results.get("warnings"):
        parts += ["", "### Warnings", ""] + [f"- {w}" for w in results["warnings"]]
    return "\n".join(parts) + "\n"
