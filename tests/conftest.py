"""Test configuration: strict JAX numerics (as Equinox's suite does) to catch silent broadcasting."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


@pytest.fixture(scope="session")
def mnist_dir():
    """The real MNIST test split in IDX form; skips cleanly when absent."""
    path = os.path.abspath(MNIST_DIR)
    if not os.path.exists(os.path.join(path, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"real MNIST IDX files not found at {path}")
    return path
