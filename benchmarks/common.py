"""Workload specs, the synthetic data, FLOP counts and the machine description.

Imports only the standard library and numpy, so a child process can create its data before
it imports (and times the import of) JAX and the framework under test.
"""

from __future__ import annotations

import os
import platform
import resource
from importlib import metadata
from typing import NamedTuple

import numpy as np

SEED = 0


class Spec(NamedTuple):
    """One workload: a two-layer MLP ``in_dim -> hidden (relu) -> classes (softmax)``."""

    key: str
    title: str
    in_dim: int
    hidden: int
    classes: int
    batch: int
    samples: int

    def flops_per_sample(self) -> int:
        """Matmul FLOPs per training sample, as computed: forward, then the two kernel
        gradients and the hidden layer's input gradient (the data's gradient is never formed).
        """
        first, second = self.in_dim * self.hidden, self.hidden * self.classes
        return 2 * first + 2 * second + 2 * first + 2 * second + 2 * second

    def nominal_flops_per_sample(self) -> int:
        """The usual estimate, 3 x forward; 1.5x the real count here (see flops_per_sample)."""
        return 3 * 2 * (self.in_dim * self.hidden + self.hidden * self.classes)

    def steps_per_epoch(self) -> int:
        return -(-self.samples // self.batch)


def workload_a(quick: bool) -> Spec:
    return Spec("A", "784-512-10, batch 128 (MNIST-sized)", 784, 512, 10, 128,
                8_192 if quick else 60_000)


def workload_b(quick: bool) -> Spec:
    return Spec("B", "64-64-10, batch 32 (digits-sized, dispatch-bound)", 64, 64, 10, 32, 1_797)


def make_data(spec: Spec, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped float32 inputs in [0, 1) and one-hot float32 labels.

    Each input is 30% its class's fixed random prototype and 70% uniform noise, so the task is
    learnable and a working trainer's accuracy rises far above chance within an epoch; that is
    what the correctness guard checks.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, spec.classes, spec.samples)
    prototypes = rng.random((spec.classes, spec.in_dim), dtype=np.float32)
    noise = rng.random((spec.samples, spec.in_dim), dtype=np.float32)
    x = np.float32(0.3) * prototypes[labels] + np.float32(0.7) * noise
    y = np.eye(spec.classes, dtype=np.float32)[labels]
    return x, y


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """The machine and the versions of everything measured (imports jax)."""
    import jax

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "jaxlib": package_version("jaxlib"),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "numpy": np.__version__,
        "optax": package_version("optax"),
        "keras": package_version("keras"),
        "flax": package_version("flax"),
        "equinox": package_version("equinox"),
        "fnnet": package_version("fnnet") or _fnnet_source_version(),
    }


def _fnnet_source_version() -> str | None:
    try:
        import fnnet

        return f"{fnnet.__version__} (source tree)"
    except Exception:  # noqa: BLE001 - the library may be mid-edit; the version is cosmetic
        return None


def current_rss_bytes() -> int:
    """Resident set size now, from /proc (no psutil needed)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (VmHWM).

    Not ``getrusage().ru_maxrss``: Linux carries that across fork and exec, so a child of a
    large parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work on the machine skews the timings."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None
