"""Assertions shared by the test modules (imported as ``from _helpers import ...``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def assert_history_close(actual: Mapping, expected: Mapping, rtol: float = 1e-6,
                         atol: float = 0.0) -> None:
    """``History.history`` dicts agree: the same keys in the same order, and every per-epoch
    list of values equal within ``rtol``/``atol`` (``rtol=0, atol=0`` asks for equality).

    ``pytest.approx`` refuses nested containers from pytest 9 on, so the comparison is
    written out: one ``assert_allclose`` per key, which names the key that differs.
    """
    assert list(actual) == list(expected), f"keys differ: {list(actual)} != {list(expected)}"
    for key in expected:
        a, b = np.asarray(actual[key], np.float64), np.asarray(expected[key], np.float64)
        assert a.shape == b.shape, f"{key!r}: {len(a)} epochs against {len(b)}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"history[{key!r}]")
