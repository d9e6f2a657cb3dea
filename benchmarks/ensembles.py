"""Workload K: K=8 copies of A's and B's networks, trained together or one after another.

``fnnet.models.Ensemble`` trains its members in one vmapped program (one compile, one dispatch
per epoch for all eight); against it, eight fnnet models each trained by its own ``fit`` in
turn, and the same with eight Keras models. Members differ in seed only (0..7). Each timed run
is whole ``fit`` calls: one ``Ensemble.fit``, or eight ``Model.fit``\\ s, of the same number of
epochs on the same host numpy arrays. The first run (compilation included) is untimed and
reported apart.
"""

from __future__ import annotations

import statistics

from benchmarks.tables import num, ratio, table
from benchmarks.timing import failed, guard, log, rotated, timed

MEMBERS = 8


class _Runner:
    """One row: builds its K models, and trains all K for ``epochs`` epochs per call."""

    def __init__(self, name: str, description: str, build, train):
        self.name, self.description, self._build, self._train = name, description, build, train

    def setup(self, spec):
        self.models = self._build(spec)

    def run(self, x, y, batch, epochs) -> list[tuple[float, float]]:
        """Trains, returns each member's last (loss, acc)."""
        return self._train(self.models, x, y, batch, epochs)


def _fnnet_members(spec):
    from benchmarks.contenders import FnnetFit
    from fnnet import utils

    maker = FnnetFit()
    maker.load()
    members = []
    for k in range(MEMBERS):
        utils.set_random_seed(k)
        members.append(maker.build_model(spec))
    return members


def _keras_members(spec):
    from benchmarks.contenders import Keras3Fit

    maker = Keras3Fit()
    maker.load()
    members = []
    for k in range(MEMBERS):
        maker.seed = k
        members.append(maker.build_model(spec))
    return members


def _last(history) -> tuple[float, float]:
    from benchmarks.base import history_last

    return history_last(history.history)


def runners() -> list[_Runner]:
    def ensemble_build(spec):
        from fnnet import models

        return models.Ensemble(_fnnet_members(spec))

    def ensemble_train(ens, x, y, batch, epochs):
        return [_last(h) for h in ens.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)]

    def sequential_train(members, x, y, batch, epochs):
        return [_last(m.fit(x, y, batch_size=batch, epochs=epochs, verbose=0))
                for m in members]

    return [
        _Runner("fnnet-ensemble", f"models.Ensemble of {MEMBERS} fnnet models: one vmapped "
                "program", ensemble_build, ensemble_train),
        _Runner("fnnet-fit x8", f"{MEMBERS} fnnet models, each fit in turn", _fnnet_members,
                sequential_train),
        _Runner("keras3-fit x8", f"{MEMBERS} Keras 3 models, each fit in turn", _keras_members,
                sequential_train),
    ]


def _family(name: str) -> str:
    return "keras3-fit" if name.startswith("keras") else "fnnet-fit"


def run_one(spec, epochs: int, rounds: int, names, warnings: list, quick: bool = False) -> dict:
    from benchmarks.base import Skip
    from benchmarks.common import make_data

    log(f"\n== Workload K on {spec.key}: {MEMBERS} models x {epochs} epoch(s), "
        f"{spec.samples} samples")
    x, y = make_data(spec)
    records, live = [], {}
    for r in runners():
        if names is not None and _family(r.name) not in names:
            continue
        if quick and names is None and _family(r.name) == "keras3-fit":
            continue  # eight Keras compiles per workload: too slow for a smoke test
        rec = {"name": r.name, "description": r.description, "status": "ok", "note": "",
               "times_s": []}
        records.append(rec)
        try:
            r.setup(spec)
            rec["first_call_s"] = timed(lambda r=r: r.run(x, y, spec.batch, epochs))[1]
        except Skip as e:
            rec.update(status="skipped", note=str(e))
            continue
        except Exception as e:  # noqa: BLE001 - one broken row must not stop the rest
            failed(rec, e, warnings, f"workload K/{spec.key} warm-up")
            continue
        live[r.name] = r
        log(f"  {r.name:15s} first call (compile included) {rec['first_call_s']:.2f} s")
    by_name = {r["name"]: r for r in records}
    for rnd in range(rounds):
        for name in rotated(list(live), rnd):
            rec = by_name[name]
            if rec["status"] != "ok":
                continue
            try:
                last, dt = timed(lambda name=name: live[name].run(x, y, spec.batch, epochs))
                rec["times_s"].append(dt)
            except Exception as e:  # noqa: BLE001
                failed(rec, e, warnings, f"workload K/{spec.key} (timed)")
                continue
            rec["member_loss"] = [loss for loss, _ in last]
            rec["member_acc"] = [acc for _, acc in last]
    for rec in records:
        if rec["status"] != "ok" or not rec["times_s"]:
            continue
        rec["median_s"], rec["min_s"] = statistics.median(rec["times_s"]), min(rec["times_s"])
        rec["worst_loss"], rec["worst_acc"] = max(rec["member_loss"]), min(rec["member_acc"])
        warning = guard(rec["name"], rec["worst_loss"], rec["worst_acc"], spec.classes,
                        f"workload K/{spec.key} (worst member)")
        if warning:
            warnings.append(warning)
            rec["note"] = "GUARD FAILED: " + warning
        log(f"  {rec['name']:15s} {rec['median_s']:.3f} s for all {MEMBERS}")
    ens = by_name.get("fnnet-ensemble", {})
    for rec in records:
        if rec.get("median_s") and ens.get("median_s"):
            rec["speedup_from_ensemble"] = rec["median_s"] / ens["median_s"]
            rec["first_call_speedup"] = rec["first_call_s"] / ens["first_call_s"]
    return {"spec": spec._asdict(), "members": MEMBERS, "epochs_per_fit": epochs,
            "rounds": rounds, "contenders": records}


def run_ensembles(args, warnings: list) -> dict:
    from benchmarks.common import workload_a, workload_b

    # A's runs take seconds each (eight full epochs of A per row): at most 3 rounds.
    rounds = min(args.rounds, 3)
    by_data = {}
    if not args.quick:  # --quick: B only (sixteen compiles of A's network are too slow)
        by_data["A"] = run_one(workload_a(args.quick), 1, rounds, args.contenders, warnings)
    by_data["B"] = run_one(workload_b(args.quick), 2 if args.quick else 10, rounds,
                           args.contenders, warnings, args.quick)
    return {"targets": {"A": 1.0, "B": 4.0}, "by_data": by_data}


def markdown(w: dict) -> str:
    parts = [f"### Workload K: {MEMBERS} models trained together (`fnnet.models.Ensemble`) or "
             f"one after another",
             "\nEach run trains all members through whole `fit` calls on the same host numpy "
             "arrays; members differ in seed only. Speed-up = that row's median / the "
             "ensemble's (higher means the ensemble is faster). The first call includes "
             "compilation (one program for the ensemble, one per model otherwise)."]
    for key, r in w["by_data"].items():
        spec = r["spec"]
        header = ["contender", f"median, all {MEMBERS} (s)", "min (s)", "speed-up of the ensemble",
                  "first call (s)", "first-call speed-up", "worst member acc", "note"]
        rows = []
        for rec in r["contenders"]:
            if not rec.get("median_s"):
                rows.append([f"`{rec['name']}`"] + ["-"] * 6 + [f"{rec['status']}: {rec['note']}"])
                continue
            rows.append([f"`{rec['name']}`", num(rec["median_s"], ".3f"), num(rec["min_s"], ".3f"),
                         ratio(rec.get("speedup_from_ensemble")), num(rec["first_call_s"], ".2f"),
                         ratio(rec.get("first_call_speedup")), num(rec["worst_acc"], ".3f"),
                         rec.get("note") or ""])
        seq = {x["name"]: x for x in r["contenders"]}.get("fnnet-fit x8", {})
        target = w["targets"].get(key)
        verdict = ""
        if target and seq.get("speedup_from_ensemble"):
            met = "met" if seq["speedup_from_ensemble"] >= target else "NOT met"
            goal = "no slower than" if target == 1 else f"at least {target:.0f}x faster than"
            verdict = (f"\n\nTarget: the ensemble {goal} {MEMBERS} sequential fnnet fits on "
                       f"{key}: {seq['speedup_from_ensemble']:.2f}x, {met}.")
        parts.append(f"\n#### {key}'s network ({spec['title']}), {spec['samples']:,} samples, "
                     f"{r['epochs_per_fit']} epoch(s) per fit, median of {r['rounds']} "
                     f"rounds\n\n" + table(header, rows) + verdict)
    return "\n".join(parts)
