"""Scale-out on JAX's own engine, tested on CPU: 2 virtual devices in a subprocess
(``--xla_force_host_platform_device_count=2``) and 2 real processes on 127.0.0.1 with
``jax.distributed`` and gloo collectives, each compared with one device.

RMSprop, so that the comparison measures the distribution: Adam amplifies the rounding of a
near-zero gradient (``m / sqrt(v)`` is about its sign) and would differ by 1e-4 for any change
in summation order, distributed or not.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fnnet import distribution

SCRIPT = Path(__file__).parent / "scripts" / "distributed_fit.py"
TIMEOUT = 240  # a stalled collective fails the test instead of hanging it


def run(*args: str) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                         timeout=TIMEOUT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def single():
    return run("single")


def assert_close(a: dict, b: dict, rtol=1e-5, atol=1e-6):
    for key in b["history"]:
        np.testing.assert_allclose(a["history"][key], b["history"][key], rtol=rtol, atol=atol)
    for p, q in zip(a["weights"], b["weights"], strict=True):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=atol)


def test_data_parallel_fit_matches_one_device(single):
    both = run("dataparallel")
    assert both["kernel_spec"] == []  # params replicated
    assert_close(both, single)
    # BatchNormalization's statistics are those of the global batch (SyncBatchNormalization):
    np.testing.assert_allclose(both["batchnorm_mean"], single["weights"][4], rtol=1e-5,
                               atol=1e-6)


def test_model_parallel_fit_matches_one_device(single):
    split = run("modelparallel")
    assert split["kernel_spec"] == [None, "model"]
    assert_close(split, single)


def test_functional_helpers_run_a_jitted_step_data_parallel(single):
    out = run("functional")
    assert out["sharding"] == []
    assert np.isfinite(out["loss"])


def test_two_processes_match_one_device(single, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    path = str(tmp_path / "m.safetensors")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), "process", str(rank), port, path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for rank in (0, 1)]
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, stderr[-3000:]
            results.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for p in procs:
            p.kill()
    for out in results:
        assert out["process_count"] == 2 and out["loaded_equal"]
        assert_close(out, single)


def test_layout_map_and_distribution_errors():
    mesh = distribution.DeviceMesh((1,), ("batch",))
    with pytest.raises(ValueError, match=r"a mesh of shape \(2,\) holds 2 devices, but 1 were "
                                         r"given"):
        distribution.DeviceMesh((2,), ("batch",), devices=mesh.devices)
    layout = distribution.LayoutMap(mesh)
    with pytest.raises(ValueError, match=r"'model' is not an axis of the mesh \('batch',\)"):
        layout["kernel"] = (None, "model")
    with pytest.raises(ValueError, match=r"is not a regular expression"):
        layout["(["] = (None,)
    with pytest.raises(ValueError, match=r"ModelParallel: pass layout_map="):
        distribution.ModelParallel()
    with pytest.raises(TypeError, match=r"set_distribution: expected a DataParallel"):
        distribution.set_distribution("data")
    dp = distribution.DataParallel()
    assert dp.data_parallel_size == 1
    distribution.set_distribution(dp)
    try:
        assert distribution.distribution() is dp
    finally:
        distribution.set_distribution(None)
