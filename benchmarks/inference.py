"""Workload C: ``evaluate`` and ``predict`` over 24,000 samples, on the MLPs trained in A.

Each contender lists its rows (:meth:`benchmarks.base.Contender.inference_runs`): the
hand-written loop of jitted batches and the one-call rooflines (``jax-jit-full``, data on the
device; ``jax-jit-full-transfer``, host numpy in and out), fnnet with its default batch size
(fnnet picks the rows per pass), batch_size=128 and data already on the device, and Keras at
batch_size=128 and at its default, 32.
"""

from __future__ import annotations

import statistics

import numpy as np

from benchmarks.tables import num, ratio, table
from benchmarks.timing import check, failed, interleaved, log, prepare

REFERENCES = (("keras3-fit (batch_size=128)", "keras"), ("jax-jit-full", "full"),
              ("jax-jit-full-transfer", "full_transfer"))


def inference_classes() -> tuple[type, ...]:
    from benchmarks.contenders import FnnetFit, JaxJitLoop, Keras3Fit

    return (JaxJitLoop, FnnetFit, Keras3Fit)


def run_inference(spec_a, live_a: dict | None, records_a: list[dict] | None, args,
                  warnings: list) -> dict:
    from benchmarks.common import make_data, workload_c

    spec = workload_c(args.quick)
    log(f"\n== Workload C: evaluate / predict over {spec.samples} samples")
    classes = [c for c in inference_classes()
               if args.contenders is None or c.name in args.contenders]
    xa, ya = make_data(spec_a)
    if live_a is None:  # C without A: train the three models for one epoch of A first
        pre, live_a = prepare(spec_a, xa, ya, classes, args.contenders, warnings)
        skipped = {r["name"]: r for r in pre if r["status"] != "ok"}
    else:
        skipped = {r["name"]: r for r in records_a or () if r["status"] != "ok"}
    # A's training samples, repeated or cut to C's count (the models learned A's classes).
    rows = np.arange(spec.samples) % len(xa)
    x, y = xa[rows], ya[rows]
    del xa, ya
    records, runs = [], {}
    for cls in classes:
        if cls.name not in live_a:
            status = skipped.get(cls.name, {}).get("status") or "skipped"
            note = "in workload A: " + (skipped.get(cls.name, {}).get("note") or "not run")
            records.append({"name": cls.name, "status": status, "note": note})
            continue
        for name, note, evaluate, predict in live_a[cls.name].inference_runs(x, y, spec.batch):
            runs[name] = (evaluate, predict)
            records.append({"name": name, "status": "ok", "note": note, "evaluate_times_s": [],
                            "predict_times_s": []})
    by_name = {r["name"]: r for r in records}
    for name, (evaluate, predict) in runs.items():  # untimed: compiles, and checks the output
        try:
            by_name[name]["eval_loss"], by_name[name]["eval_acc"] = evaluate()
            out = predict()
            if tuple(out.shape) != (spec.samples, spec.classes):
                warnings.append(f"workload C: {name}.predict returned shape {tuple(out.shape)}")
        except Exception as e:  # noqa: BLE001
            failed(by_name[name], e, warnings, "workload C")
    calls = {(name, kind): fn for name in runs if by_name[name]["status"] == "ok"
             for kind, fn in zip(("evaluate", "predict"), runs[name], strict=True)}
    for (name, kind), times in interleaved(calls, args.rounds).items():
        by_name[name][f"{kind}_times_s"] = times
    for rec in records:
        if rec["status"] != "ok":
            continue
        for kind in ("evaluate", "predict"):
            med = statistics.median(rec[f"{kind}_times_s"])
            rec[f"{kind}_s"] = med
            rec[f"{kind}_samples_per_s"] = spec.samples / med
        check(rec, spec.classes, "workload C evaluate", warnings, "eval_loss", "eval_acc")
        log(f"  {rec['name']:27s} evaluate {rec['evaluate_s']:.4f} s, "
            f"predict {rec['predict_s']:.4f} s")
    for kind in ("evaluate", "predict"):
        for ref, short in REFERENCES:
            ref_s = by_name.get(ref, {}).get(f"{kind}_s")
            if ref_s:
                for rec in records:
                    if rec.get(f"{kind}_s"):
                        rec[f"{kind}_x_{short}"] = rec[f"{kind}_s"] / ref_s
    return {"samples": spec.samples, "batch": spec.batch, "rounds": args.rounds,
            "contenders": records}


def markdown(w: dict) -> str:
    header = ["contender", "evaluate (s)", "eval x keras3 (128)", "eval x jax-jit-full",
              "eval x full-transfer", "predict (s)", "predict samples/s", "predict x keras3 (128)",
              "predict x jax-jit-full", "predict x full-transfer", "eval acc", "note"]
    rows = []
    for r in w["contenders"]:
        if r["status"] != "ok":
            rows.append([f"`{r['name']}`"] + ["-"] * 10 + [f"{r['status']}: {r['note']}"])
            continue
        rows.append([f"`{r['name']}`", num(r["evaluate_s"], ".4f")]
                    + [ratio(r.get(f"evaluate_x_{s}")) for _, s in REFERENCES]
                    + [num(r["predict_s"], ".4f"), num(r["predict_samples_per_s"], ",.0f")]
                    + [ratio(r.get(f"predict_x_{s}")) for _, s in REFERENCES]
                    + [num(r.get("eval_acc"), ".3f"), r.get("note") or ""])
    title = (f"### Workload C: evaluate and predict over {w['samples']:,} samples of A's "
             f"network\n\n"
             f"Median of {w['rounds']} rounds on the models trained in A. `jax-jit-full` is one "
             f"jitted call with the data already on the device; `jax-jit-full-transfer` adds "
             f"`jax.device_put` of the host input and `np.asarray` of the output, which every "
             f"numpy-in, numpy-out API pays. `fnnet-fit` passes no batch_size (fnnet's "
             f"default), the `(batch_size={w['batch']})` row passes it, `(on device)` passes "
             f"arrays already on the device; Keras runs at batch_size={w['batch']} and at its "
             f"default, 32. `x ...` = time / that row's time (lower is faster).\n")
    return title + "\n" + table(header, rows)
