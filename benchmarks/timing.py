"""The timing machinery every training workload shares: warm-up, interleaved rounds, guard.

Imports only the standard library at the top (``run.py`` imports this before a child process
times its own ``import jax``); JAX and the contenders are imported where they are used.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import traceback
from collections.abc import Callable, Hashable, Sequence
from typing import Any


def log(msg: str) -> None:
    print(msg, flush=True)


def rotated(order: list, rnd: int) -> list:
    """``order`` rotated by the round number, so no contender always runs after the same one."""
    k = rnd % max(len(order), 1)
    return order[k:] + order[:k]


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)``, timed after a ``gc.collect()`` so no earlier garbage is paid for."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def interleaved(calls: dict[Hashable, Callable[[], Any]], rounds: int
                ) -> dict[Hashable, list[float]]:
    """Times every call once per round, the order rotated each round (see :func:`rotated`);
    returns each call's times."""
    times: dict[Hashable, list[float]] = {key: [] for key in calls}
    for rnd in range(rounds):
        for key in rotated(list(calls), rnd):
            times[key].append(timed(calls[key])[1])
    return times


class PeakProbe:
    """A measured peak (GFLOP/s) of one jitted kernel, sampled at the start and once per round.

    The peak is the fastest sample: a peak is an upper bound, and other work on a shared
    machine only slows runs down, so sampling alongside the contenders (rather than once,
    perhaps at a busy moment) keeps "% of peak" honest. The median is kept for reference.
    Build one with :func:`matmul_probe` or :func:`conv_probe`.
    """

    def __init__(self, what: str, fn: Callable, args: tuple, flops: int):
        self.what, self.fn, self.args, self.flops = what, fn, args, flops
        fn(*args).block_until_ready()  # compile
        self.times: list[float] = []

    def sample(self, reps: int = 1) -> None:
        for _ in range(reps):
            t0 = time.perf_counter()
            self.fn(*self.args).block_until_ready()
            self.times.append(time.perf_counter() - t0)

    def result(self) -> dict:
        best, med = min(self.times), statistics.median(self.times)
        return {"what": self.what, "flops": self.flops, "times_s": self.times, "best_s": best,
                "median_s": med, "gflops": self.flops / best / 1e9,
                "gflops_median": self.flops / med / 1e9}


def matmul_probe(quick: bool) -> PeakProbe:
    """An ``n x n`` float32 ``jnp.matmul`` (n = 4096, or 2048 with ``--quick``)."""
    import jax
    import jax.numpy as jnp

    n = 2048 if quick else 4096
    ka, kb = jax.random.split(jax.random.key(0))
    a = jax.random.normal(ka, (n, n), jnp.float32)
    b = jax.random.normal(kb, (n, n), jnp.float32)
    return PeakProbe(f"{n}x{n} float32 matmul", jax.jit(jnp.matmul), (a, b), 2 * n**3)


def conv_probe(quick: bool) -> PeakProbe:
    """A valid 3x3 convolution, 64 to 64 channels on 32x32 NHWC images (batch 128, or 32
    with ``--quick``): the shape of the convnet's larger convolutions, in one call."""
    import jax
    import jax.numpy as jnp

    batch, hw, c, k = (32 if quick else 128), 32, 64, 3
    kx, kw = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (batch, hw, hw, c), jnp.float32)
    w = jax.random.normal(kw, (k, k, c, c), jnp.float32)
    conv = jax.jit(lambda x, w: jax.lax.conv_general_dilated(
        x, w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")))
    out = hw - k + 1
    return PeakProbe(f"3x3 conv {c}->{c} channels, {batch}x{hw}x{hw} NHWC, float32", conv,
                     (x, w), 2 * batch * out * out * c * k * k * c)


# run.py turns this off for --quick, whose few steps on tiny data need not lift the accuracy
# of every network above chance; the loss must still be finite.
CHECK_ACCURACY = True


def guard(name: str, loss: float, acc: float, classes: int, what: str, accuracy: bool = True
          ) -> str | None:
    """A warning if a contender did not really train (so it cannot look fast by being broken).

    ``accuracy=False`` checks the loss only (one epoch that no contender gets above chance)."""
    threshold = 1.5 / classes
    if not math.isfinite(loss):
        return f"{what}: {name}'s final loss is {loss}, not finite"
    if accuracy and CHECK_ACCURACY and not acc > threshold:
        return (f"{what}: {name}'s final accuracy {acc:.3f} is not above chance "
                f"(threshold {threshold:.3f})")
    return None


def check(rec: dict, classes: int, what: str, warnings: list, loss_key: str = "final_loss",
          acc_key: str = "final_acc", accuracy: bool = True) -> None:
    """Runs :func:`guard` on a record and marks the record and the warnings if it fails."""
    warning = guard(rec["name"], rec[loss_key], rec[acc_key], classes, what, accuracy)
    if warning:
        warnings.append(warning)
        rec["note"] = "GUARD FAILED: " + warning


def failed(rec: dict, e: Exception, warnings: list, what: str) -> None:
    rec.update(status="failed", note=f"{type(e).__name__}: {e}"[:300])
    warnings.append(f"{what}: {rec['name']} failed: {rec['note']}")


def prepare(spec, x, y, classes: Sequence[type], names: Sequence[str] | None,
            warnings: list, reuse: tuple[list[dict], dict] | None = None
            ) -> tuple[list[dict], dict]:
    """Loads, builds and warms up each contender: setup and its first epoch (compilation
    included), timed as ``first_epoch_s`` and not counted in the medians.

    ``reuse``, the ``(records, live)`` of an earlier workload on the same spec and data, lends
    its live contenders (and their first-epoch records) instead of building them again.
    """
    from benchmarks.base import Skip

    records, live = [], {}
    old_records, old_live = reuse or ([], {})
    old_by_name = {r["name"]: r for r in old_records}
    for cls in classes:
        c = cls()
        if names is not None and c.name not in names:
            continue
        if c.name in old_live:
            old = old_by_name[c.name]
            records.append({k: old[k] for k in ("name", "description", "status", "note",
                                                "first_epoch_s", "final_loss", "final_acc")}
                           | {"times_s": [], "note": "built and first trained in workload B"})
            live[c.name] = old_live[c.name]
            continue
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
            rec["final_loss"], rec["final_acc"] = c.first_epoch()
            rec["first_epoch_s"] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - one broken contender must not stop the rest
            failed(rec, e, warnings, f"{spec.key} setup/warm-up")
            log(f"  {c.name:15s} FAILED in warm-up:\n{traceback.format_exc(limit=4)}")
            continue
        live[c.name] = c
        log(f"  {c.name:15s} setup + first epoch {rec['first_epoch_s']:.2f} s "
            f"(loss {rec['final_loss']:.4f}, acc {rec['final_acc']:.3f})")
    return records, live


def timed_epoch(contender) -> tuple[float, float, float]:
    """One epoch: ``(loss, acc, seconds)``, the seconds from the contender when it times itself
    (the fit contenders time the epoch inside fit)."""
    out, dt = timed(contender.epoch)
    return out if len(out) == 3 else (*out, dt)


def run_rounds(records: list[dict], live: dict, rounds: int, epochs_per_round: int,
               warnings: list, what: str, after_round: Callable[[], None] | None = None,
               verbose: bool = True) -> None:
    """The timed rounds: each round, each live contender trains ``epochs_per_round`` epochs,
    in an order rotated every round; times go to ``rec["times_s"]``."""
    by_name = {r["name"]: r for r in records}
    order = list(live)
    for rnd in range(rounds):
        for name in rotated(order, rnd):
            rec = by_name[name]
            if rec["status"] != "ok":
                continue
            for _ in range(epochs_per_round):
                try:
                    loss, acc, dt = timed_epoch(live[name])
                except Exception as e:  # noqa: BLE001
                    failed(rec, e, warnings, f"{what} (timed)")
                    break
                rec["times_s"].append(dt)
                rec["final_loss"], rec["final_acc"] = loss, acc
        if after_round is not None:
            after_round()
        if verbose:
            summary = ", ".join(
                f"{n} {statistics.median(by_name[n]['times_s']):.3f}s" for n in order
                if by_name[n]["status"] == "ok" and by_name[n]["times_s"])
            log(f"  round {rnd + 1}/{rounds}: {summary}")


def add_ratios(records: list[dict], pairs: Sequence[tuple[str, str]], key: str = "median_s"
               ) -> None:
    """``rec[field] = rec[key] / ref[key]`` for each ``(reference name, field)``."""
    by_name = {r["name"]: r for r in records}
    for ref, field in pairs:
        ref_value = by_name.get(ref, {}).get(key)
        if ref_value:
            for rec in records:
                if rec.get(key):
                    rec[field] = rec[key] / ref_value


def run_training(spec, classes: Sequence[type], args, epochs_per_round: int, probe, warnings,
                 reuse: tuple[list[dict], dict] | None = None) -> tuple[dict, dict]:
    """One training workload: warm-up, ``args.rounds`` interleaved rounds, medians, guard.
    ``reuse``: see :func:`prepare`."""
    from benchmarks.common import make_data

    log(f"\n== Workload {spec.key}: {spec.title}, {spec.samples} samples")
    x, y = make_data(spec)
    records, live = prepare(spec, x, y, classes, args.contenders, warnings, reuse)
    run_rounds(records, live, args.rounds, epochs_per_round, warnings, f"workload {spec.key}",
               after_round=None if probe is None else probe.sample)
    summarize(spec, records, probe)
    for rec in records:
        if rec.get("median_s"):
            check(rec, spec.classes, f"workload {spec.key}", warnings)
    result = {"spec": spec._asdict(), "steps_per_epoch": spec.steps_per_epoch(),
              "flops_per_sample": spec.flops_per_sample(),
              "nominal_flops_per_sample": spec.nominal_flops_per_sample(),
              "rounds": args.rounds, "timed_epochs": args.rounds * epochs_per_round,
              "contenders": records}
    if spec.flops_per_sample():
        result["flops_per_epoch"] = spec.flops_per_sample() * spec.samples
    return result, live


def summarize(spec, records: list[dict], probe) -> None:
    """Medians, throughput, GFLOP/s (where the spec counts FLOPs) and the ratios to the
    roofline and to Keras."""
    flops = spec.flops_per_sample()
    peak = probe.result()["gflops"] if probe is not None else None
    for rec in records:
        if rec["status"] != "ok" or not rec["times_s"]:
            continue
        med = statistics.median(rec["times_s"])
        rec.update(median_s=med, min_s=min(rec["times_s"]), samples_per_s=spec.samples / med)
        if flops:
            rec["gflops"] = flops * spec.samples / med / 1e9
            rec["gflops_nominal"] = spec.nominal_flops_per_sample() * spec.samples / med / 1e9
            rec["frac_peak"] = rec["gflops"] / peak if peak else None
    add_ratios(records, (("jax-scan-epoch", "x_roofline"), ("keras3-fit", "x_keras")))
    add_ratios(records, (("jax-scan-epoch", "x_roofline_min"), ("keras3-fit", "x_keras_min")),
               key="min_s")


def set_peak(workload: dict, peak: dict) -> None:
    """Recomputes "% of peak" against the final peak (the fastest sample of the whole run) of
    the :class:`PeakProbe` result ``peak``."""
    workload["peak"] = {"what": peak["what"], "gflops": peak["gflops"]}
    for rec in workload["contenders"]:
        if rec.get("gflops"):
            rec["frac_peak"] = rec["gflops"] / peak["gflops"]
