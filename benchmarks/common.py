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

    def input_shape(self) -> tuple[int, ...]:
        return (self.in_dim,)


def workload_a(quick: bool) -> Spec:
    return Spec("A", "784-512-10, batch 128 (MNIST-sized)", 784, 512, 10, 128,
                4_096 if quick else 60_000)


def workload_b(quick: bool) -> Spec:
    return Spec("B", "64-64-10, batch 32 (digits-sized, dispatch-bound)", 64, 64, 10, 32, 1_797)


def workload_c(quick: bool) -> Spec:
    """Inference (evaluate, predict) with A's network, over 24,000 samples."""
    return workload_a(quick)._replace(key="C", samples=4_096 if quick else 24_000)


class ConvSpec(NamedTuple):
    """The book's MNIST convnet: three valid 3x3 relu convs, 2x2 max pools after the first two,
    then Flatten, a relu Dense(64) and a softmax Dense."""

    key: str
    title: str
    classes: int
    batch: int
    samples: int
    image: tuple[int, int, int] = (28, 28, 1)
    filters: tuple[int, ...] = (32, 64, 64)
    kernel: int = 3
    pool: int = 2
    dense: int = 64

    def input_shape(self) -> tuple[int, ...]:
        return self.image

    def flat(self) -> int:
        """The length of the flattened last conv output (576 for 28x28x1)."""
        h = self.image[0]
        for i in range(len(self.filters)):
            h = h - self.kernel + 1
            if i < len(self.filters) - 1:
                h //= self.pool
        return h * h * self.filters[-1]

    def layer_flops(self) -> tuple[list[int], int]:
        """Forward matmul FLOPs per sample of each conv (2 x out_h x out_w x out_c x k x k x
        in_c) and of the two Dense layers (2 x flat x dense + 2 x dense x classes)."""
        h, w, c = self.image
        convs = []
        for i, f in enumerate(self.filters):
            h, w = h - self.kernel + 1, w - self.kernel + 1
            convs.append(2 * h * w * f * self.kernel * self.kernel * c)
            c = f
            if i < len(self.filters) - 1:
                h, w = h // self.pool, w // self.pool
        return convs, 2 * h * w * c * self.dense + 2 * self.dense * self.classes

    def flops_per_sample(self) -> int:
        """Training FLOPs per sample: forward, each kernel's gradient (one forward's worth) and
        each layer's input gradient (one forward's worth) except the first conv's (the data's
        gradient is never formed). Pools, activations and the optimizer are not counted."""
        convs, dense = self.layer_flops()
        return 3 * (sum(convs) + dense) - convs[0]

    def nominal_flops_per_sample(self) -> int:
        convs, dense = self.layer_flops()
        return 3 * (sum(convs) + dense)

    def steps_per_epoch(self) -> int:
        return -(-self.samples // self.batch)


class LstmSpec(NamedTuple):
    """LSTM(units) over ``timesteps x features`` sequences, then a softmax Dense."""

    key: str
    title: str
    timesteps: int
    features: int
    units: int
    classes: int
    batch: int
    samples: int

    def input_shape(self) -> tuple[int, ...]:
        return (self.timesteps, self.features)

    def flops_per_sample(self) -> None:
        return None  # F reports epoch times and ratios only

    nominal_flops_per_sample = flops_per_sample

    def steps_per_epoch(self) -> int:
        return -(-self.samples // self.batch)


class AttentionSpec(NamedTuple):
    """Embedding -> self-attention (MultiHeadAttention) -> GlobalAveragePooling1D -> softmax."""

    key: str
    title: str
    vocab: int
    seq_len: int
    embed: int
    heads: int
    key_dim: int
    classes: int
    batch: int
    samples: int

    def input_shape(self) -> tuple[int, ...]:
        return (self.seq_len,)

    def flops_per_sample(self) -> None:
        return None

    nominal_flops_per_sample = flops_per_sample

    def steps_per_epoch(self) -> int:
        return -(-self.samples // self.batch)


def workload_e(quick: bool) -> ConvSpec:
    return ConvSpec("E", "the book's MNIST convnet (Conv2D 32, 64, 64, Dense 64, 10), 28x28x1, "
                    "batch 64", 10, 64, 128 if quick else 2_048)


def workload_f(quick: bool) -> tuple[LstmSpec, AttentionSpec]:
    n = 256 if quick else 4_096
    return (LstmSpec("F1", "LSTM(64) over 100 x 32, Dense(10), batch 128", 100, 32, 64, 10,
                     128, n),
            AttentionSpec("F2", "Embedding(10000, 64) + MultiHeadAttention(4 heads, key_dim 16) "
                          "+ GlobalAveragePooling1D + Dense(2), length 128, batch 64",
                          10_000, 128, 64, 4, 16, 2, 64, n))


Z_GRIDS = {  # (data sizes at width 512, widths, the width sweep's data size)
    "quick": ((500, 2_000), (64, 512), 2_000),
    "small": ((1_000, 4_000, 15_000, 60_000), (64, 512, 4_096), 4_000),
    "big": ((1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 60_000),
            (64, 128, 256, 512, 1_024, 2_048, 4_096), 15_000),
}


def workload_z(grid: str) -> tuple[list[Spec], list[Spec]]:
    """Z's two sweeps of the MLP: data sizes at A's width, then widths at a fixed size."""
    sizes, widths, fixed = Z_GRIDS[grid]
    by_size = [Spec("Z", f"784-512-10, {n:,} samples", 784, 512, 10, 128, n) for n in sizes]
    by_width = [Spec("Z", f"784-{h}-10, {fixed:,} samples", 784, h, 10, 128, fixed)
                for h in widths]
    return by_size, by_width


def learnable(shape: tuple[int, ...], classes: int, samples: int, seed: int = SEED
              ) -> tuple[np.ndarray, np.ndarray]:
    """float32 inputs of ``(samples, *shape)`` in [0, 1) and one-hot float32 labels.

    Each input is 30% its class's fixed random prototype and 70% uniform noise, so the task is
    learnable and a working trainer's accuracy rises far above chance within an epoch; that is
    what the correctness guard checks.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, samples)
    prototypes = rng.random((classes, *shape), dtype=np.float32)
    noise = rng.random((samples, *shape), dtype=np.float32)
    x = np.float32(0.3) * prototypes[labels] + np.float32(0.7) * noise
    y = np.eye(classes, dtype=np.float32)[labels]
    return x, y


def make_data(spec, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Any workload's synthetic data: see :func:`learnable` and :func:`learnable_tokens`."""
    if isinstance(spec, AttentionSpec):
        return learnable_tokens(spec, seed)
    return learnable(spec.input_shape(), spec.classes, spec.samples, seed)


def learnable_tokens(spec: AttentionSpec, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """int32 token sequences and one-hot float32 labels: 30% of each sequence's tokens come
    from a set of 32 tokens that marks its class, the rest are uniform over the vocabulary."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, spec.classes, spec.samples)
    markers = rng.choice(spec.vocab, (spec.classes, 32), replace=False)
    tokens = rng.integers(0, spec.vocab, (spec.samples, spec.seq_len))
    planted = markers[labels[:, None], rng.integers(0, 32, (spec.samples, spec.seq_len))]
    x = np.where(rng.random((spec.samples, spec.seq_len)) < 0.3, planted, tokens)
    return x.astype(np.int32), np.eye(spec.classes, dtype=np.float32)[labels]


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
