"""Tests for fnnet.core: the Layer protocol, its metadata, and the combinators.

Values are checked against numpy or against the children applied by hand; every ``raise`` in
core.py has a test matching its message.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import Layer, fan_in_concat, fan_in_sum, fan_out, parallel, residual, serial, shape_dependent
from fnnet.core import num_elements, split_rng
from fnnet.layers import Activation, Dense, Dropout, Identity, LayerNormalization

KEY = jax.random.key(0)


def _scale_init(rng, input_shape):
    return input_shape, {"scale": jnp.full((input_shape[-1],), 2.0)}, ()


def _scale_apply(params, state, x, *, rng=None, training=False):
    return x * params["scale"].reshape((1,) * (x.ndim - 1) + (-1,)), state


def _np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# The Layer protocol.


def test_layer_is_a_pair_that_unpacks_like_stax():
    layer = Layer(_scale_init, _scale_apply)
    assert len(layer) == 2 and not isinstance(layer, tuple)  # not mistaken for a tuple input
    init_fn, apply_fn = layer
    assert init_fn is _scale_init and apply_fn is _scale_apply
    assert layer[0] is layer.init and layer[1] is layer.apply
    out_shape, params, state = init_fn(KEY, (3, 4))
    y, new_state = apply_fn(params, state, jnp.ones((3, 4)))
    assert out_shape == (3, 4) and state == () and new_state == ()
    np.testing.assert_array_equal(y, np.full((3, 4), 2.0))
    # A custom pair gets the defaults for the metadata.
    assert (layer.name, layer.kind, layer.config, layer.input_shape) == (None, "Layer", None, None)
    assert layer.logits is None and layer.output_activation is None
    assert "Layer(init=" in repr(layer)


def test_equality_and_hash_see_only_the_two_functions():
    a = Layer(_scale_init, _scale_apply)
    b = Layer(_scale_init, _scale_apply, name="scaled", kind="Scale")
    assert a == b and hash(a) == hash(b)
    assert a != Layer(_scale_init, lambda p, s, x, **kw: (x, s))
    named = a.named("s")
    assert named.name == "s" and named.init is a.init and named.apply is a.apply
    assert a.name is None  # named() returns a new layer


def test_metadata_survives_replace_pytree_round_trips_and_jit():
    dense = Dense(3, activation="softmax", name="out")
    renamed = dense._replace(name="head")  # the NamedTuple spelling still works
    assert renamed.name == "head" and renamed.kind == "Dense" and renamed.logits == dense.logits
    assert repr(renamed).startswith("Dense(units=3") and "name='head'" in repr(renamed)
    leaves, treedef = jax.tree.flatten(dense)
    assert leaves == []  # a layer is a pytree with no leaves: transformations pass it through
    again = jax.tree.unflatten(treedef, leaves)
    assert again.logits == dense.logits and again.name == "out"
    mapped = jax.tree.map(lambda a: a, {"layer": dense})["layer"]
    assert mapped.output_activation == "softmax" and mapped.logits is not None
    # As a static jit argument it keeps everything too.
    seen = jax.jit(lambda layer, x: x * float(layer.logits is not None))(dense, jnp.ones(2))
    np.testing.assert_array_equal(seen, np.ones(2))


def test_layer_description_is_read_only_but_trainable_is_settable():
    dense = Dense(2)
    with pytest.raises(AttributeError, match=r"Dense.name is read-only.*layer.replace\(name=...\)"):
        dense.name = "x"
    dense.trainable = False
    assert dense.trainable is False and dense.replace(name="y").trainable is False
    with pytest.raises(TypeError, match="trainable must be True or False; got 0"):
        dense.trainable = 0
    with pytest.raises(TypeError, match=r"Layer.replace: unknown field\(s\) \['nmae'\]"):
        dense.replace(nmae="z")


@pytest.mark.parametrize("init, apply, shown", [
    (None, _scale_apply, "init=None"),
    (_scale_init, "apply", "apply='apply'"),
])
def test_layer_rejects_non_callables(init, apply, shown):
    with pytest.raises(TypeError, match=rf"Layer\(init, apply\) takes two callables; got .*{shown}.*"
                                        r"Pass the functions themselves"):
        Layer(init, apply)


def test_dense_metadata_and_repr():
    layer = Dense(3, activation="relu", input_shape=(4,), name="hidden")
    assert (layer.name, layer.kind, layer.input_shape) == ("hidden", "Dense", (4,))
    assert layer.config["units"] == 3 and layer.config["activation"] == "relu"
    assert layer.config["input_shape"] == (4,)
    assert layer.logits is None and layer.output_activation is None
    assert repr(layer).startswith("Dense(units=3, activation='relu'")


@pytest.mark.parametrize("activation, np_act", [
    ("softmax", _np_softmax),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
])
def test_probability_output_has_a_logits_variant(activation, np_act):
    layer = Dense(3, activation=activation)
    assert layer.output_activation == activation
    assert isinstance(layer.logits, Layer)
    out_shape, params, state = layer.init(KEY, (None, 4))
    l_shape, l_params, l_state = layer.logits.init(KEY, (None, 4))
    # Identical params structure (and, from the same key, identical values).
    assert l_shape == out_shape and l_state == state
    assert jax.tree.structure(l_params) == jax.tree.structure(params)
    jax.tree.map(np.testing.assert_array_equal, l_params, params)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    z = x @ np.asarray(params["kernel"]) + np.asarray(params["bias"])
    logits, _ = layer.logits.apply(params, state, jnp.asarray(x))
    probs, _ = layer.apply(params, state, jnp.asarray(x))
    np.testing.assert_allclose(logits, z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, np_act(z), rtol=1e-5, atol=1e-6)


def test_serial_ending_in_softmax_has_a_logits_variant():
    model = serial(Dense(5, activation="tanh"), serial(Dense(4), Dense(3, activation="softmax")))
    assert model.output_activation == "softmax"
    _, params, state = model.init(KEY, (None, 2))
    _, l_params, _ = model.logits.init(KEY, (None, 2))
    assert jax.tree.structure(l_params) == jax.tree.structure(params)
    x = np.random.default_rng(1).normal(size=(6, 2)).astype(np.float32)
    p = [params[0], params[1][0], params[1][1]]
    h = np.tanh(x @ np.asarray(p[0]["kernel"]) + np.asarray(p[0]["bias"]))
    h = h @ np.asarray(p[1]["kernel"]) + np.asarray(p[1]["bias"])
    z = h @ np.asarray(p[2]["kernel"]) + np.asarray(p[2]["bias"])
    np.testing.assert_allclose(model.logits.apply(params, state, jnp.asarray(x))[0], z,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.apply(params, state, jnp.asarray(x))[0], _np_softmax(z),
                               rtol=1e-5, atol=1e-6)


def test_serial_ending_in_softmax_activation_drops_it_for_logits():
    model = serial(Dense(3), Activation("softmax"))
    assert model.output_activation == "softmax"
    _, params, state = model.init(KEY, (None, 2))
    x = jnp.asarray(np.random.default_rng(2).normal(size=(4, 2)), jnp.float32)
    np.testing.assert_allclose(model.logits.apply(params, state, x)[0],
                               Dense(3).apply(params[0], (), x)[0], rtol=1e-6)


def test_no_logits_variant_without_a_final_probability_activation():
    assert serial(Dense(3, activation="softmax"), Dense(2)).logits is None
    assert Activation("relu").logits is None
    assert serial().logits is None


# ---------------------------------------------------------------------------------------------
# serial.


def test_serial_composes_and_nests_params_as_tuples():
    model = serial(Dense(4, activation="relu"), Dense(2))
    out_shape, params, state = model.init(KEY, (None, 3))
    assert out_shape == (None, 2) and state == ((), ())
    assert [p["kernel"].shape for p in params] == [(3, 4), (4, 2)]
    x = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    h = np.maximum(x @ np.asarray(params[0]["kernel"]) + np.asarray(params[0]["bias"]), 0)
    expected = h @ np.asarray(params[1]["kernel"]) + np.asarray(params[1]["bias"])
    np.testing.assert_allclose(model.apply(params, state, jnp.asarray(x))[0], expected,
                               rtol=1e-5, atol=1e-6)
    assert model.kind == "serial" and len(model.config["layers"]) == 2


def test_composition_is_closed_serial_of_serial():
    a, b, c = Dense(4, activation="tanh"), LayerNormalization(), Dense(2)
    nested = serial(serial(a, b), c)
    flat = serial(a, b, c)
    _, nested_params, nested_state = nested.init(KEY, (None, 3))
    _, flat_params, _ = flat.init(KEY, (None, 3))
    regrouped = (nested_params[0][0], nested_params[0][1], nested_params[1])
    assert jax.tree.structure(regrouped) == jax.tree.structure(flat_params)
    x = jnp.asarray(np.random.default_rng(4).normal(size=(5, 3)), jnp.float32)
    y_nested, _ = nested.apply(nested_params, nested_state, x)
    y_flat, _ = flat.apply(regrouped, ((), (), ()), x)
    np.testing.assert_allclose(y_nested, y_flat, rtol=1e-6)
    # A serial is itself a layer: it nests inside every combinator.
    out, _, _ = residual(serial(serial(Dense(3)), Identity())).init(KEY, (2, 3))
    assert out == (2, 3)


def test_empty_serial_is_the_identity():
    out_shape, params, state = serial().init(KEY, (2, 3))
    assert (out_shape, params, state) == ((2, 3), (), ())
    x = jnp.ones((2, 3))
    assert serial().apply(params, state, x)[0] is x


def test_serial_gives_each_child_its_own_init_key():
    model = serial(Dense(3), Dense(3))
    _, params, _ = model.init(KEY, (None, 3))
    assert not np.array_equal(params[0]["kernel"], params[1]["kernel"])


def test_serial_splits_the_rng_once_per_child():
    x = jnp.ones((1000, 100))
    model = serial(Dropout(0.5), Dropout(0.5))
    rng = jax.random.key(3)
    y, _ = model.apply(((), ()), ((), ()), x, rng=rng, training=True)
    # By hand: child i gets the i-th key of split(rng, 2).
    k0, k1 = jax.random.split(rng, 2)
    h, _ = Dropout(0.5).apply((), (), x, rng=k0, training=True)
    by_hand, _ = Dropout(0.5).apply((), (), h, rng=k1, training=True)
    np.testing.assert_array_equal(y, by_hand)
    # Independent masks keep a quarter of the units; a shared key would keep half.
    assert abs(float(jnp.mean(y == 0)) - 0.75) < 0.01


def test_split_rng_and_num_elements():
    assert split_rng(None, 3) == [None, None, None]
    keys = split_rng(KEY, 2)
    assert len(keys) == 2 and not np.array_equal(jax.random.key_data(keys[0]),
                                                  jax.random.key_data(keys[1]))
    assert num_elements((2, 3, 4)) == 24 and num_elements((None, 3)) is None


# ---------------------------------------------------------------------------------------------
# parallel, fan_out, fan_in_sum, fan_in_concat.


def test_parallel_applies_each_layer_to_its_input():
    two = parallel(Dense(4), Identity())
    shapes, params, state = two.init(KEY, ((5, 3), (5, 2)))
    assert shapes == ((5, 4), (5, 2)) and state == ((), ())
    x0 = np.random.default_rng(5).normal(size=(5, 3)).astype(np.float32)
    x1 = np.arange(10, dtype=np.float32).reshape(5, 2)
    (y0, y1), new_state = two.apply(params, state, [jnp.asarray(x0), jnp.asarray(x1)])
    np.testing.assert_allclose(y0, x0 @ np.asarray(params[0]["kernel"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y1, x1)
    assert new_state == ((), ())


def test_parallel_with_fan_out_gives_each_branch_its_own_rng():
    model = serial(fan_out(2), parallel(Dropout(0.5), Dropout(0.5)))
    x = jnp.ones((50, 20))
    (a, b), _ = model.apply(((), ((), ())), ((), ((), ())), x, rng=jax.random.key(1),
                            training=True)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("bad, got", [
    (((2, 3),), r"a tuple of 1 entries"),
    (((2, 3), (2, 3), (2, 3)), r"a tuple of 3 entries"),
    ((2, 3, 4), r"a tuple of 3 entries"),  # a bare shape where a tuple of shapes belongs
])
def test_parallel_init_arity(bad, got):
    two = parallel(Dense(1), Dense(1))
    with pytest.raises(ValueError, match=rf"parallel of 2 layers: input_shape must be a tuple of 2 "
                                         rf"entries, one per layer; got {got}\. Use fan_out\(2\)"):
        two.init(KEY, bad)


def test_parallel_apply_arity():
    two = parallel(Identity(), Identity())
    with pytest.raises(ValueError, match=r"parallel of 2 layers: the input must be a tuple of 2 "
                                         r"entries, one per layer; got ArrayImpl"):
        two.apply(((), ()), ((), ()), jnp.ones(3))
    with pytest.raises(ValueError, match=r"got a list of 3 entries"):
        two.apply(((), ()), ((), ()), [jnp.ones(3)] * 3)


def test_fan_out_copies_its_input():
    shapes, params, state = fan_out(3).init(KEY, (2, 4))
    assert shapes == ((2, 4),) * 3 and params == () and state == ()
    x = jnp.ones((2, 4))
    ys, _ = fan_out(3).apply((), (), x)
    assert len(ys) == 3 and all(y is x for y in ys)


@pytest.mark.parametrize("num", [0, -1, 2.0, True, "2"])
def test_fan_out_rejects_bad_num(num):
    with pytest.raises(ValueError, match=rf"fan_out\(num\): num must be a positive int; got "
                                         rf"{num!r}\. Try fan_out\(2\)\."):
        fan_out(num)


def test_fan_in_sum_adds_its_inputs():
    shape, params, state = fan_in_sum().init(KEY, ((2, 3),) * 3)
    assert (shape, params, state) == ((2, 3), (), ())
    xs = [np.random.default_rng(i).normal(size=(2, 3)).astype(np.float32) for i in range(3)]
    y, _ = fan_in_sum().apply((), (), tuple(map(jnp.asarray, xs)))
    np.testing.assert_allclose(y, xs[0] + xs[1] + xs[2], rtol=1e-6)


def test_fan_in_sum_shape_mismatch():
    with pytest.raises(ValueError, match=r"fan_in_sum: all inputs must have the same shape; got "
                                         r"\[\(2, 3\), \(2, 4\)\]\. Project the branches"):
        fan_in_sum().init(KEY, ((2, 3), (2, 4)))


@pytest.mark.parametrize("make, name", [(fan_in_sum, "fan_in_sum"), (fan_in_concat, "fan_in_concat")])
@pytest.mark.parametrize("shape", [(2, 3), (), ((2, 3), 4)])
def test_fan_in_needs_a_tuple_of_inputs(make, name, shape):
    with pytest.raises(ValueError, match=rf"{name} takes a tuple of inputs \(e\.g\. from fan_out or "
                                         rf"parallel\); got input shape"):
        make().init(KEY, shape)


def test_fan_in_concat_values_and_shapes():
    layer = fan_in_concat()
    assert layer.init(KEY, ((2, 3), (2, 1)))[0] == (2, 4)
    assert layer.init(KEY, ((None, 3), (None, 1)))[0] == (None, 4)
    assert fan_in_concat(axis=1).init(KEY, ((2, 3, 5), (2, 4, 5)))[0] == (2, 7, 5)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = -np.arange(2, dtype=np.float32).reshape(2, 1)
    y, _ = layer.apply((), (), (jnp.asarray(a), jnp.asarray(b)))
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=-1))
    y, _ = fan_in_concat(axis=0).apply((), (), (jnp.asarray(a), jnp.asarray(a)))
    np.testing.assert_array_equal(y, np.concatenate([a, a], axis=0))


def test_fan_in_concat_errors():
    with pytest.raises(TypeError, match=r"fan_in_concat\(axis\): axis must be an int; got 1\.0\."):
        fan_in_concat(axis=1.0)
    with pytest.raises(ValueError, match=r"fan_in_concat\(axis=-1\): inputs must match on every "
                                         r"axis but -1; got \[\(2, 3\), \(5, 1\)\]\."):
        fan_in_concat().init(KEY, ((2, 3), (5, 1)))
    with pytest.raises(ValueError, match=r"inputs must match on every axis but -1; got "
                                         r"\[\(2, 3\), \(2, 3, 1\)\]"):
        fan_in_concat().init(KEY, ((2, 3), (2, 3, 1)))
    # A lower-rank input: the same message (formerly an IndexError from indexing its axis).
    with pytest.raises(ValueError, match=r"inputs must match on every axis but -1; got "
                                         r"\[\(2, 3, 1\), \(2, 3\)\]"):
        fan_in_concat().init(KEY, ((2, 3, 1), (2, 3)))
    with pytest.raises(ValueError, match=r"fan_in_concat\(axis=2\): the axis is out of range for "
                                         r"inputs of rank 2; got input shapes \[\(2, 3\), \(2, 1\)\]"):
        fan_in_concat(axis=2).init(KEY, ((2, 3), (2, 1)))
    with pytest.raises(ValueError, match=r"out of range for inputs of rank 0"):
        fan_in_concat().init(KEY, ((), ()))


# ---------------------------------------------------------------------------------------------
# residual, shape_dependent, layer-argument checks.


def test_residual_adds_the_skip_connection():
    block = residual(Dense(3, activation="tanh"))
    shape, params, state = block.init(KEY, (4, 3))
    assert shape == (4, 3) and sorted(params) == ["bias", "kernel"] and state == ()
    x = np.random.default_rng(6).normal(size=(4, 3)).astype(np.float32)
    y, _ = block.apply(params, state, jnp.asarray(x))
    expected = x + np.tanh(x @ np.asarray(params["kernel"]) + np.asarray(params["bias"]))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_residual_rejects_a_shape_change():
    with pytest.raises(ValueError, match=r"residual\(Dense\): the wrapped layer must keep the shape, "
                                         r"but it maps \(4, 3\) to \(4, 5\)\. Give it 3 output "
                                         r"units\."):
        residual(Dense(5)).init(KEY, (4, 3))


def test_shape_dependent_builds_the_layer_from_the_input_shape():
    seen = []

    def make(shape):
        seen.append(shape)
        return Dense(shape[-1] * 2)

    layer = shape_dependent(make)
    shape, params, _ = layer.init(KEY, (None, 3))
    assert shape == (None, 6) and params["kernel"].shape == (3, 6)
    y, _ = layer.apply(params, (), jnp.ones((2, 3)))
    assert y.shape == (2, 6)
    assert seen == [(None, 3), (2, 3)]


def test_shape_dependent_rejects_a_non_callable():
    with pytest.raises(TypeError, match=r"shape_dependent\(make_layer\): make_layer must be callable; "
                                        r"got Dense\(units=2"):
        shape_dependent(Dense(2))  # a layer, not a function that builds one
    with pytest.raises(TypeError, match=r"make_layer must be callable; got 3\."):
        shape_dependent(3)


@pytest.mark.parametrize("combinator, name, args", [
    (serial, "serial", (Dense(2), 3)),
    (parallel, "parallel", (Dense(2), 3)),
    (lambda *a: residual(*a[1:]), "residual", (None, "dense")),
])
def test_combinators_reject_non_layers(combinator, name, args):
    index = 1 if name != "residual" else 0
    bad = args[-1]
    with pytest.raises(TypeError, match=rf"{name}: argument {index}: {bad!r} \(of type "
                                        rf"{type(bad).__name__}\) is not a layer\. A layer is a "
                                        rf"pair of pure functions: fnnet\.Layer\(init, apply\)"):
        combinator(*args)


def test_a_plain_stax_style_pair_of_functions_is_accepted_by_combinators():
    class Pair:  # anything with init and apply works, e.g. a user's own NamedTuple
        init = staticmethod(_scale_init)
        apply = staticmethod(_scale_apply)

    model = serial(Pair(), Dense(1))
    _, params, state = model.init(KEY, (None, 2))
    assert params[0]["scale"].shape == (2,)


# ---------------------------------------------------------------------------------------------
# Structure checks: a combinator never runs fewer layers than it holds.


def test_serial_refuses_params_for_fewer_layers():
    model = serial(Dense(3), Dense(2))
    _, params, state = model.init(KEY, (None, 4))
    with pytest.raises(ValueError, match=r"serial\(Dense, Dense\) holds 2 layers, so its params "
                                         r"must be a tuple of 2 entries, one per layer.*got a tuple "
                                         r"of 1 entries"):
        model.apply(params[:1], state[:1], jnp.ones((2, 4)))
    with pytest.raises(ValueError, match=r"so its state must be a tuple of 2 entries.*got a tuple "
                                         r"of 0 entries.*a stateless layer's state is \(\)"):
        model.apply(params, (), jnp.ones((2, 4)))
    with pytest.raises(ValueError, match=r"its params must be a tuple of 2 entries.*got dict"):
        model.apply(params[0], state, jnp.ones((2, 4)))


def test_parallel_refuses_params_for_fewer_layers():
    two = parallel(Dense(1), Dense(1))
    _, params, state = two.init(KEY, ((None, 2), (None, 3)))
    with pytest.raises(ValueError, match=r"parallel of 2 layers holds 2 layers, so its params "
                                         r"must be a tuple of 2 entries"):
        two.apply(params[:1], state, (jnp.ones((1, 2)), jnp.ones((1, 3))))


def test_stateless_combinators_refuse_params():
    with pytest.raises(ValueError, match=r"fan_out has no params or state, so it takes params=\(\) "
                                         r"and state=\(\)"):
        fan_out(2).apply({"w": jnp.ones(2)}, (), jnp.ones(2))


def test_plain_tuples_and_stax_pairs():
    from jax.example_libraries import stax

    from fnnet import from_stax

    model = serial((_scale_init, _scale_apply), Dense(2))  # a plain (init, apply) tuple
    shape, params, state = model.init(KEY, (None, 3))
    assert shape == (None, 2) and params[0]["scale"].shape == (3,)
    with pytest.raises(TypeError, match=r"returned 2 values; fnnet's init returns three, "
                                        r"\(output_shape, params, state\)\. That is "
                                        r"jax\.example_libraries\.stax's protocol.*fnnet\.from_stax"):
        serial(stax.Dense(2)).init(KEY, (1, 3))
    wrapped = serial(from_stax(stax.Dense(4)), from_stax(stax.Relu), Dense(1))
    _, params, state = wrapped.init(KEY, (5, 3))
    with jax.numpy_rank_promotion("allow"):  # stax broadcasts its bias implicitly
        y, _ = wrapped.apply(params, state, jnp.ones((5, 3)))
    assert y.shape == (5, 1)


def test_trainable_mask_follows_layers_and_nesting():
    from fnnet import trainable_mask

    inner = serial(Dense(2), Dense(2))
    inner_frozen = Dense(3, trainable=False)
    model = serial(inner_frozen, inner, residual(Dense(2)))
    _, params, _ = model.init(KEY, (None, 4))
    mask = trainable_mask(model, params)
    assert jax.tree.structure(mask) == jax.tree.structure(params)
    assert jax.tree.leaves(mask[0]) == [False, False]
    assert all(jax.tree.leaves(mask[1])) and all(jax.tree.leaves(mask[2]))
    inner.config["layers"][1].trainable = False
    assert jax.tree.leaves(trainable_mask(model, params)[1]) == [True, True, False, False]


# ---------------------------------------------------------------------------------------------
# Masks: data masks travel as fnnet.Masked; the batch mask reaches batch-dependent layers.


def test_data_mask_passes_through_supporting_layers_and_ends_at_others():
    from fnnet import Masked

    x = jnp.ones((2, 3, 4))
    mask = jnp.array([[True, True, False], [True, False, False]])
    model = serial(Dense(5), Dropout(0.5), LayerNormalization())
    _, params, state = model.init(KEY, (None, 3, 4))
    y, _ = model.apply(params, state, Masked(x, mask), rng=KEY, training=True)
    assert isinstance(y, Masked) and y.value.shape == (2, 3, 5)
    np.testing.assert_array_equal(y.mask, mask)
    from fnnet.layers import Flatten

    flat = serial(Dense(2), Flatten())
    _, params, state = flat.init(KEY, (None, 3, 4))
    with pytest.warns(UserWarning, match=r"Flatten layer .* received a masked input but does not "
                                         r"support masking, so the mask ends here"):
        out, _ = flat.apply(params, state, Masked(x, mask))
    assert not isinstance(out, Masked) and out.shape == (2, 6)


def test_merges_keep_the_and_of_their_masks():
    from fnnet import Masked

    a = Masked(jnp.ones((2, 3)), jnp.array([True, False]))
    b = Masked(jnp.ones((2, 3)), jnp.array([True, True]))
    y, _ = fan_in_sum().apply((), (), (a, b))
    np.testing.assert_array_equal(y.mask, [True, False])
    np.testing.assert_array_equal(y.value, np.full((2, 3), 2.0))
    y, _ = fan_in_concat().apply((), (), (a, jnp.zeros((2, 1))))
    assert y.value.shape == (2, 4) and y.mask.tolist() == [True, False]


def test_batch_mask_reaches_batch_dependent_layers_through_combinators():
    from fnnet.layers import BatchNormalization

    model = serial(Dense(3), residual(serial(BatchNormalization(), Dense(3))))
    assert model.uses_batch_mask and not serial(Dense(2)).uses_batch_mask
    _, params, state = model.init(KEY, (None, 2))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(6, 2)), jnp.float32)
    real = jnp.array([True, True, True, True, False, False])
    # The padded rows (4, 5) repeat rows 0 and 1, as fit pads; masked out, the batch statistics
    # are those of the 4 real rows alone.
    padded = jnp.concatenate([x[:4], x[:2]])
    _, s_masked = model.apply(params, state, padded, training=True, batch_mask=real)
    _, s_alone = model.apply(params, state, x[:4], training=True)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                 s_masked, s_alone)
    _, s_unmasked = model.apply(params, state, padded, training=True)
    assert not np.allclose(s_unmasked[1][0]["moving_mean"], s_alone[1][0]["moving_mean"])
