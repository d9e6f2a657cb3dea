"""Tests for fnnet.initializers: Keras's formulas checked statistically, lookup, errors."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import initializers

KEY = jax.random.key(0)
SHAPE = (400, 600)  # fan_in 400, fan_out 600; 240k samples
FAN_IN, FAN_OUT = SHAPE
TRUNC = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def _sample(init, shape=SHAPE):
    return np.asarray(init(KEY, shape), dtype=np.float64)


@pytest.mark.parametrize(
    "name,limit",
    [
        ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("he_uniform", math.sqrt(6 / FAN_IN)),
        ("lecun_uniform", math.sqrt(3 / FAN_IN)),
    ],
)
def test_uniform_variance_scaling(name, limit):
    w = _sample(initializers.get(name))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit
    assert abs(w.mean()) < 0.01 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.01)


@pytest.mark.parametrize(
    "name,std",
    [
        ("glorot_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("he_normal", math.sqrt(2 / FAN_IN)),
        ("lecun_normal", math.sqrt(1 / FAN_IN)),
    ],
)
def test_truncated_normal_variance_scaling(name, std):
    # Keras: stddev corrected by 1/0.8796 so that AFTER truncation at 2 stddevs the std is std.
    w = _sample(initializers.get(name))
    assert w.std() == pytest.approx(std, rel=0.01)
    bound = 2 * std / TRUNC
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() > 0.98 * bound


@pytest.mark.parametrize(
    "name,jax_init",
    [
        ("glorot_uniform", jax.nn.initializers.glorot_uniform()),
        ("glorot_normal", jax.nn.initializers.glorot_normal()),
        ("he_normal", jax.nn.initializers.he_normal()),
        ("he_uniform", jax.nn.initializers.he_uniform()),
        ("lecun_normal", jax.nn.initializers.lecun_normal()),
        ("lecun_uniform", jax.nn.initializers.lecun_uniform()),
        ("orthogonal", jax.nn.initializers.orthogonal()),
    ],
)
def test_equal_to_jax_initializers_for_kernels(name, jax_init):
    # Same draws as jax; the stddev is computed in float64 as Keras does (jax: float32), so
    # the truncated normals may differ in the last bit.
    np.testing.assert_allclose(initializers.get(name)(KEY, (4, 6)), jax_init(KEY, (4, 6)),
                               rtol=3e-7, atol=0)


def test_fans_follow_keras():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((3, 5)) == (3, 5)
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    # Rank-1 works (jax's own variance_scaling refuses it): limit sqrt(6 / (n + n)).
    # (Sizes of 240_000 reuse the compiled flat draws of SHAPE.)
    w = _sample(initializers.glorot_uniform, (240_000,))
    assert np.abs(w).max() <= math.sqrt(6 / 480_000)
    # Conv kernel: he_uniform limit sqrt(6 / (5 * 5 * 96)).
    w = _sample(initializers.he_uniform, (5, 5, 96, 100))
    assert np.abs(w).max() <= math.sqrt(6 / (25 * 96)) < 1.01 * np.abs(w).max()


def test_variance_scaling_modes_and_untruncated():
    w = _sample(initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal"))
    assert w.std() == pytest.approx(math.sqrt(3.0 / FAN_OUT), rel=0.01)
    assert np.abs(w).max() > 3.5 * w.std()  # tails not cut
    w = _sample(initializers.VarianceScaling(1.0, "fan_avg", "uniform"))
    assert np.abs(w).max() <= math.sqrt(3 / ((FAN_IN + FAN_OUT) / 2))


def test_random_normal_uniform_truncated_defaults():
    w = _sample(initializers.random_normal)
    assert w.std() == pytest.approx(0.05, rel=0.01) and abs(w.mean()) < 1e-3
    w = _sample(initializers.random_uniform)
    assert w.min() >= -0.05 and w.max() < 0.05 and w.max() > 0.0499
    w = _sample(initializers.truncated_normal)
    assert np.abs(w).max() <= 0.1 * (1 + 1e-6)  # cut at 2 stddev, no correction in Keras
    assert w.std() == pytest.approx(0.05 * TRUNC, rel=0.01)
    w = _sample(initializers.RandomNormal(mean=2.0, stddev=0.5))
    assert w.mean() == pytest.approx(2.0, abs=0.01) and w.std() == pytest.approx(0.5, rel=0.01)


def test_constant_zeros_ones_identity_orthogonal():
    np.testing.assert_array_equal(initializers.zeros(KEY, (4, 6)), np.zeros((4, 6)))
    np.testing.assert_array_equal(initializers.ones(KEY, (4, 6)), np.ones((4, 6)))
    np.testing.assert_array_equal(initializers.Constant(3.5)(KEY, (4, 6)), np.full((4, 6), 3.5))
    np.testing.assert_array_equal(initializers.identity(KEY, (6, 4)), np.eye(6, 4))
    for shape in [(4, 6), (2, 2, 6)]:
        w = np.asarray(initializers.Orthogonal(gain=2.0)(KEY, shape)).reshape(-1, shape[-1])
        small = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        np.testing.assert_allclose(small, 4.0 * np.eye(min(w.shape)), atol=1e-5)


@pytest.mark.parametrize("name", sorted(initializers._FACTORIES))
def test_shape_dtype_and_determinism(name):
    init = initializers.get(name)
    a, b = init(KEY, (4, 6)), init(KEY, (4, 6), jnp.float32)
    assert a.shape == (4, 6) and a.dtype == jnp.float32
    np.testing.assert_array_equal(a, b)
    if name in ("glorot_normal", "orthogonal", "random_uniform", "constant"):
        assert init(KEY, (4, 6), jnp.bfloat16).dtype == jnp.bfloat16
        assert init(jax.random.PRNGKey(0), (4, 6)).shape == (4, 6)  # legacy uint32 keys
    if name not in ("zeros", "ones", "constant", "identity"):
        assert not np.array_equal(a, init(jax.random.key(1), (4, 6)))


def test_get_accepts_keras_names():
    for name in ["glorot_uniform", "GlorotUniform", "GLOROT_UNIFORM", "glorotuniform"]:
        assert initializers.get(name) is initializers.glorot_uniform
    assert initializers.get("HeNormal") is initializers.he_normal
    assert initializers.get("OrthogonalInitializer") is initializers.orthogonal
    assert initializers.get("constant").config == {"value": 0.0}
    custom = lambda key, shape, dtype=jnp.float32: jnp.zeros(shape, dtype)
    assert initializers.get(custom) is custom


@pytest.mark.parametrize(
    "init",
    [
        initializers.glorot_uniform,
        initializers.zeros,
        initializers.random_normal,
        initializers.RandomUniform(-1.0, 2.0),
        initializers.Constant(0.25),
        initializers.VarianceScaling(2.0, "fan_avg", "uniform"),
        initializers.Orthogonal(1.5),
        initializers.Identity(),
    ],
)
def test_serialize_round_trip_through_json(init):
    data = json.loads(json.dumps(initializers.serialize(init)))
    rebuilt = initializers.get(data)
    np.testing.assert_array_equal(rebuilt(KEY, (4, 6)), init(KEY, (4, 6)))
    assert initializers.serialize(rebuilt) == initializers.serialize(init)


def test_serialize_forms():
    assert initializers.serialize(initializers.he_normal) == "he_normal"
    assert initializers.serialize(initializers.RandomNormal()) == {
        "class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.05}}
    assert initializers.serialize(jax.nn.initializers.zeros) is None


def test_errors():
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot_unifrom' for "
                                         r"initializer; did you mean 'glorot_uniform'\?"):
        initializers.get("glorot_unifrom")
    with pytest.raises(TypeError, match=r"initializer must be a name such as 'glorot_uniform'"
                                        r".*got 1.5 of type float"):
        initializers.get(1.5)
    with pytest.raises(TypeError, match=r"A serialized initializer is a dict"):
        initializers.get({"class_name": "Constant"})
    with pytest.raises(TypeError, match=r"Constant got unknown config keys \['seed'\]; it "
                                        r"accepts \['value'\]"):
        initializers.get({"class_name": "Constant", "config": {"seed": 1}})
    with pytest.raises(ValueError, match=r"Unknown initializer 'Nope' for class_name"):
        initializers.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match=r"VarianceScaling: scale must be positive; got "
                                         r"scale=0.0"):
        initializers.VarianceScaling(0.0)
    with pytest.raises(ValueError, match=r"mode must be one of .*got mode='fan_sum'"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match=r"distribution must be one of .*got "
                                         r"distribution='normal'"):
        initializers.VarianceScaling(distribution="normal")
    with pytest.raises(TypeError, match=r"RandomNormal: stddev must be a real number; got "
                                        r"'big'"):
        initializers.RandomNormal(stddev="big")
    with pytest.raises(ValueError, match=r"minval must not exceed maxval; got minval=1.0"):
        initializers.RandomUniform(1.0, 0.0)
    with pytest.raises(ValueError, match=r"Orthogonal: the shape must have rank >= 2; got "
                                         r"shape=\(5,\)"):
        initializers.orthogonal(KEY, (5,))
    with pytest.raises(ValueError, match=r"Identity: the shape must be 2D"):
        initializers.identity(KEY, (2, 2, 2))
    with pytest.raises(ValueError, match=r"GlorotUniform: dtype must be a floating dtype.*"
                                         r"got int32"):
        initializers.glorot_uniform(KEY, (2, 2), jnp.int32)
    with pytest.raises(TypeError, match=r"HeNormal: shape must be a sequence of non-negative "
                                        r"ints.*got 5"):
        initializers.he_normal(KEY, 5)
