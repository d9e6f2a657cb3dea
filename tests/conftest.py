"""Test configuration: strict JAX numerics (as Equinox's suite does) to catch silent broadcasting."""

import os
import tempfile

import jax
import pytest
from hypothesis import settings

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

# Many tests build models of the same shapes; XLA's persistent cache lets them share compiled
# executables within the run (a fresh folder per run, so nothing leaks between runs).
jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="fnnet-test-xla-"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


@pytest.fixture(scope="session")
def mnist_dir():
    """The real MNIST test split in IDX form; skips cleanly when absent."""
    path = os.path.abspath(MNIST_DIR)
    if not os.path.exists(os.path.join(path, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"real MNIST IDX files not found at {path}")
    return path

# Property tests: random search on a developer's machine (new examples each run, failures kept
# in the local database), a fixed derandomized search in CI, so a CI run is reproducible and a
# green one says the same thing every time. .ci/run sets CI=true.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Scripts that tests run in subprocesses are not test modules (nor doctest modules).
collect_ignore_glob = ["scripts/*"]
