"""Workload S: what feeding ``fit`` host batches costs, against ``fit`` on in-memory arrays.

On A's and B's data, interleaved as the other training workloads: ``fnnet-fit`` (arrays),
``fnnet-fit-list`` (a precomputed Python list of host ``(x, y)`` numpy batches, re-iterated
each epoch) and ``fnnet-fit-stream`` (a re-iterable generator of freshly shuffled batches).
Then, on B's list, where the time goes: iterating the list in Python, ``jax.device_put`` of
every batch, and whole ``fit`` calls, which give the overhead per batch.
"""

from __future__ import annotations

import gc
import statistics

from benchmarks.tables import num, ratio, table
from benchmarks.timing import interleaved, log, run_training

# The targets for fnnet-fit-list / fnnet-fit (median epochs), by workload.
TARGETS = {"A": 1.1, "B": 1.5}


def breakdown(live: dict, spec, reps: int) -> dict:
    """Where the time of an epoch over B's list of host batches goes (medians of ``reps``)."""
    import jax

    batches = live["fnnet-fit-list"].batches
    listed, in_memory = live["fnnet-fit-list"].model, live["fnnet-fit"].model
    x, y = live["fnnet-fit"].x, live["fnnet-fit"].y

    def iterate():
        for xb, yb in batches:
            del xb, yb

    def put_each():
        jax.block_until_ready([jax.device_put(b) for b in batches])

    def put_once():
        jax.block_until_ready(jax.device_put(batches))

    calls = {"iterate_s": iterate, "device_put_each_s": put_each, "device_put_once_s": put_once,
             "fit_list_call_s": lambda: listed.fit(batches, epochs=1, verbose=0),
             "fit_in_memory_call_s": lambda: in_memory.fit(x, y, batch_size=spec.batch,
                                                           epochs=1, verbose=0)}
    # Interleaved, so drift in the machine's load hits every step alike.
    out = {"batches": len(batches), "reps": reps}
    out.update({k: statistics.median(v) for k, v in interleaved(calls, reps).items()})
    out["per_batch_call_overhead_s"] = (
        (out["fit_list_call_s"] - out["fit_in_memory_call_s"]) / len(batches))
    return out


def run_streaming(args, warnings: list) -> dict:
    from benchmarks.common import workload_a, workload_b
    from benchmarks.contenders import STREAMING

    out = {"targets": TARGETS, "by_data": {}}
    for base, epochs in ((workload_a(args.quick), 1), (workload_b(args.quick),
                                                        3 if args.quick else 10)):
        spec = base._replace(key=f"S/{base.key}", title=f"{base.key}'s data, {base.title}")
        result, live = run_training(spec, STREAMING, args, epochs, None, warnings)
        by_name = {r["name"]: r for r in result["contenders"]}
        ref = by_name.get("fnnet-fit", {})
        for rec in result["contenders"]:
            if rec.get("median_s") and ref.get("median_s"):
                rec["x_in_memory"] = rec["median_s"] / ref["median_s"]
                rec["x_in_memory_min"] = rec["min_s"] / ref["min_s"]
                rec["per_batch_overhead_s"] = (
                    (rec["median_s"] - ref["median_s"]) / spec.steps_per_epoch())
        if base.key == "B" and {"fnnet-fit", "fnnet-fit-list"} <= set(live):
            result["breakdown"] = breakdown(live, spec, max(5, 3 * args.rounds))
            log(f"  breakdown: {result['breakdown']}")
        out["by_data"][base.key] = result
        live.clear()
        gc.collect()
    return out


def markdown(w: dict) -> str:
    parts = ["### Workload S: fit on host batches against fit on in-memory arrays"]
    parts.append(
        "\n`fnnet-fit-list` fits on a precomputed Python list of host numpy `(x, y)` batches "
        "(shuffled once, re-iterated every epoch), `fnnet-fit-stream` on a re-iterable "
        "generator that reshuffles each pass; both are timed like `fnnet-fit` (second epoch of "
        "a 2-epoch fit, callback to callback), interleaved in the same rounds. `x in-memory` = "
        "median epoch / `fnnet-fit`'s; overhead per batch = (epoch - in-memory epoch) / steps.")
    for key, result in w["by_data"].items():
        spec = result["spec"]
        header = ["contender", "median epoch (s)", "min (s)", "x in-memory (median)",
                  "x in-memory (min)", "overhead per batch (us)", "final acc", "note"]
        rows = []
        for r in result["contenders"]:
            if not r.get("median_s"):
                rows.append([f"`{r['name']}`"] + ["-"] * 6 + [f"{r['status']}: {r['note']}"])
                continue
            per_batch = r.get("per_batch_overhead_s")
            rows.append([f"`{r['name']}`", num(r["median_s"], ".4f"), num(r["min_s"], ".4f"),
                         ratio(r.get("x_in_memory")), ratio(r.get("x_in_memory_min")),
                         num(None if per_batch is None else per_batch * 1e6, ".1f"),
                         num(r.get("final_acc"), ".3f"), r.get("note") or ""])
        listed = {r["name"]: r for r in result["contenders"]}.get("fnnet-fit-list", {})
        target = w["targets"].get(key)
        verdict = ""
        if listed.get("x_in_memory") and target:
            met = "met" if listed["x_in_memory"] <= target else "NOT met"
            verdict = (f"\n\nTarget for `fnnet-fit-list`: at most {target}x in-memory; "
                       f"{listed['x_in_memory']:.2f}x (median), {met}.")
        parts.append(f"\n#### On {key}'s data ({spec['samples']:,} samples, batch "
                     f"{spec['batch']}, {result['steps_per_epoch']} batches; "
                     f"{result['timed_epochs']} timed epochs each)\n\n" + table(header, rows)
                     + verdict)
        b = result.get("breakdown")
        if b:
            n = b["batches"]
            rows = [
                ["iterate the list in Python (no work)", num(b["iterate_s"] * 1e3, ".3f"),
                 num(b["iterate_s"] / n * 1e6, ".2f")],
                ["`jax.device_put` of each batch, then wait",
                 num(b["device_put_each_s"] * 1e3, ".3f"),
                 num(b["device_put_each_s"] / n * 1e6, ".2f")],
                ["`jax.device_put` of the whole list in one call",
                 num(b["device_put_once_s"] * 1e3, ".3f"),
                 num(b["device_put_once_s"] / n * 1e6, ".2f")],
                ["whole `fit(list, epochs=1)` call", num(b["fit_list_call_s"] * 1e3, ".3f"),
                 num(b["fit_list_call_s"] / n * 1e6, ".2f")],
                ["whole `fit(x, y, epochs=1)` call (in memory)",
                 num(b["fit_in_memory_call_s"] * 1e3, ".3f"),
                 num(b["fit_in_memory_call_s"] / n * 1e6, ".2f")],
                ["estimated overhead per batch: (fit list - fit in memory) / batches", "-",
                 num(b["per_batch_call_overhead_s"] * 1e6, ".2f")],
            ]
            parts.append(f"\nWhere the time goes on {key}'s list ({n} batches; medians of "
                         f"{b['reps']} repetitions; whole `fit` calls include the per-call "
                         f"setup that the epoch columns above exclude):\n\n"
                         + table(["step", "total (ms)", "per batch (us)"], rows))
    return "\n".join(parts)
