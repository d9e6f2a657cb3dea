"""Workload L: fnnet's train step in a user's own Python loop, on B's dispatch-bound network.

Three ways of running the same epochs of B (64-64-10, batch 32, 57 steps): ``fnnet-step``
(``jax.jit(make_train_step(...), donate_argnums=0)`` called once per batch from a Python
loop, as a user who drops down from ``fit`` writes it), ``jax-jit-loop`` (the same loop around a
hand-written ``jax.jit`` step) and ``jax-scan-epoch`` (one jitted call per epoch). Both loops
are fed identically, so ``fnnet-step / jax-jit-loop`` is what fnnet's step adds per call, and
``/ jax-scan-epoch`` is what any Python loop costs against no loop at all.
"""

from __future__ import annotations

from benchmarks.tables import num, ratio, table
from benchmarks.timing import add_ratios, run_training

LOOP, SCAN = "jax-jit-loop", "jax-scan-epoch"


def run_loops(args, warnings: list, reuse: tuple[list[dict], dict] | None = None) -> dict:
    """``reuse``: workload B's ``(records, live contenders)``, when B ran, so that L times the
    same compiled steps again instead of compiling its own."""
    from benchmarks.common import workload_b
    from benchmarks.contenders import LOOPS

    base = workload_b(args.quick)
    spec = base._replace(key="L", title=f"B's network in a Python loop ({base.title})")
    result, live = run_training(spec, LOOPS, args, 3 if args.quick else 20, None, warnings,
                                reuse)
    live.clear()
    records = result["contenders"]
    add_ratios(records, ((LOOP, "x_loop"), (SCAN, "x_scan")))
    by_name = {r["name"]: r for r in records}
    steps = spec.steps_per_epoch()
    for rec in records:
        for ref, field in ((LOOP, "per_step_over_loop_s"), (SCAN, "per_step_over_scan_s")):
            if rec.get("median_s") and by_name.get(ref, {}).get("median_s"):
                rec[field] = (rec["median_s"] - by_name[ref]["median_s"]) / steps
    return result


def markdown(w: dict) -> str:
    spec = w["spec"]
    header = ["contender", "median epoch (ms)", "min (ms)", "per step (us)", "x jax-jit-loop",
              "x jax-scan-epoch", "extra per step over the loop (us)", "setup + first epoch (s)",
              "final acc", "note"]
    steps = w["steps_per_epoch"]
    rows = []
    for r in w["contenders"]:
        if not r.get("median_s"):
            rows.append([f"`{r['name']}`"] + ["-"] * 8 + [f"{r['status']}: {r['note']}"])
            continue
        over = r.get("per_step_over_loop_s")
        rows.append([f"`{r['name']}`", num(r["median_s"] * 1e3, ".2f"), num(r["min_s"] * 1e3, ".2f"),
                     num(r["median_s"] / steps * 1e6, ".1f"), ratio(r.get("x_loop")),
                     ratio(r.get("x_scan")), num(None if over is None else over * 1e6, ".1f"),
                     num(r.get("first_epoch_s"), ".2f"), num(r.get("final_acc"), ".3f"),
                     r.get("note") or ""])
    med = {r["name"]: r.get("median_s") for r in w["contenders"]}

    def pair(a, b):
        return f"{med[a] / med[b]:.2f}x" if med.get(a) and med.get(b) else "n/a"

    like = (f"\n\nLike for like: fnnet's named `\"rmsprop\"` keeps the learning rate in the "
            f"optimizer state (adjustable between steps, as in Keras) and the train state also "
            f"carries a step counter and an rng; the hand loop's `optax.rmsprop(1e-3, ...)` "
            f"has a constant rate. `fnnet-step` / `jax-jit-loop-inject` (both with the rate in "
            f"the state): {pair('fnnet-step', 'jax-jit-loop-inject')}; `fnnet-step-optax` / "
            f"`jax-jit-loop` (both with the constant-rate optax transformation): "
            f"{pair('fnnet-step-optax', 'jax-jit-loop')}. Target (issue 15): `fnnet-step` no "
            f"slower than `jax-jit-loop`: {pair('fnnet-step', 'jax-jit-loop')}.")
    return (f"### Workload L: `make_train_step` in a Python loop, on B's network "
            f"({spec['samples']:,} samples, batch {spec['batch']}, {steps} steps/epoch)\n\n"
            f"Median of {w['timed_epochs']} timed epochs, interleaved over {w['rounds']} rounds. "
            f"`fnnet-step` is `jax.jit(make_train_step(model, loss, metrics=[\"accuracy\"]), "
            f"donate_argnums=0)` called per batch, fed exactly like the hand-written "
            f"`jax-jit-loop`; `jax-scan-epoch` runs the whole epoch in one call.\n\n"
            + table(header, rows) + like)
