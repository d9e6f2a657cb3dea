"""The conformance harness of ``test_layers.py``, parametrized over another test file's cases.

A test file builds its ``Case`` list and adds the harness tests to its namespace::

    from _layer_harness import Case, harness_tests
    globals().update(harness_tests(CASES))

Each added test calls the function of the same name in ``test_layers`` with one case, so the
harness is written once and every layer family runs all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import test_layers

Case = test_layers.Case

_WITH_TRAINING = ("test_init_shape_equals_apply_shape", "test_jit_equals_eager")
_PER_CASE = ("test_init_runs_under_eval_shape", "test_gradients_match_finite_differences_in_float64",
             "test_state_keeps_its_structure", "test_randomness_is_deterministic_per_key",
             "test_vmap_per_example_gradients", "test_works_inside_lax_scan")


def harness_tests(cases: Sequence[Case]) -> dict[str, Callable]:
    """``{test name: test function}`` running every harness test over ``cases``."""
    over_cases = pytest.mark.parametrize("case", list(cases), ids=[c.id for c in cases])
    tests = {}
    for name in _WITH_TRAINING + _PER_CASE:
        check = getattr(test_layers, name)
        if name in _WITH_TRAINING:
            def test(case, training, check=check):
                check(case, training)
            test = pytest.mark.parametrize("training", [False, True])(test)
        else:
            def test(case, check=check):
                check(case)
        test.__name__ = test.__qualname__ = name
        tests[name] = over_cases(test)
    return tests
