"""fnnet.layers._conv_ops.conv: the values and derivatives of ``conv_general_dilated``, with a
kernel gradient that XLA:CPU compiles to canonical convolutions or dots even inside a loop."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from fnnet.layers import _conv_ops
from fnnet.layers._conv_ops import conv
from fnnet.layers._spatial import LAYOUTS

CASES = [  # rank, spatial size, kernel size, strides, padding, dilation, groups
    (2, (7, 6), (3, 3), (1, 1), "VALID", (1, 1), 1),
    (2, (7, 6), (3, 2), (2, 1), "SAME", (1, 1), 1),
    (2, (9, 9), (3, 3), (1, 2), "VALID", (2, 1), 2),
    (1, (10,), (3,), (1,), [(4, 0)], (2,), 1),  # Conv1D's causal padding
    (3, (5, 4, 4), (2, 2, 2), (1, 1, 2), "SAME", (1, 1, 1), 1),
]


@pytest.fixture(params=["canonical", "offsets"])
def kernel_tangent(request, monkeypatch):
    """Each test runs with each form of the kernel's tangent, whichever the shapes would pick."""
    canonical = request.param == "canonical"
    monkeypatch.setattr(_conv_ops, "_canonical_is_faster",
                        lambda x, y, groups: canonical and groups == 1)
    return request.param


def reference(x, kernel, strides, padding, dilation, groups):
    return jax.lax.conv_general_dilated(
        x, kernel, strides, padding, rhs_dilation=dilation,
        dimension_numbers=LAYOUTS[x.ndim - 2], feature_group_count=groups)


def operands(rank, size, kernel_size, groups, dtype=jnp.float32):
    kx, kk = jax.random.split(jax.random.key(0))
    channels, filters = 2 * groups, 3 * groups
    x = jax.random.normal(kx, (2, *size, channels), dtype)
    kernel = jax.random.normal(kk, (*kernel_size, channels // groups, filters), dtype)
    return x, kernel


@pytest.mark.parametrize(("rank", "size", "kernel_size", "strides", "padding", "dilation",
                          "groups"), CASES)
def test_values_and_gradients_equal_conv_general_dilated(rank, size, kernel_size, strides,
                                                         padding, dilation, groups,
                                                         kernel_tangent):
    x, kernel = operands(rank, size, kernel_size, groups)
    args = (strides, padding, dilation)

    def ours(x, kernel):
        return conv(x, kernel, strides, padding, dilation, LAYOUTS[rank], groups)

    def theirs(x, kernel):
        return reference(x, kernel, *args, groups)

    # Compiled, as layers run it (and much faster than op-by-op dispatch of each offset's dot).
    np.testing.assert_allclose(jax.jit(ours)(x, kernel), theirs(x, kernel), rtol=1e-5, atol=1e-5)
    cotangent = jax.random.normal(jax.random.key(1), theirs(x, kernel).shape)
    ours_grads = jax.jit(jax.grad(lambda x, k: jnp.vdot(ours(x, k), cotangent), (0, 1)))(
        x, kernel)
    theirs_grads = jax.grad(lambda x, k: jnp.vdot(theirs(x, k), cotangent), (0, 1))(x, kernel)
    for a, b in zip(ours_grads, theirs_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_second_order_and_forward_mode_match_finite_differences_in_float64(kernel_tangent):
    with jax.enable_x64():
        x, kernel = operands(2, (5, 5), (3, 3), 1, jnp.float64)

        def f(x, kernel):
            return conv(x, kernel, (1, 1), "SAME", (1, 1), LAYOUTS[2], 1)

        check_grads(jax.jit(f), (x, kernel), order=2, modes=("fwd", "rev"))


def test_vmap_equals_a_loop(kernel_tangent):
    x, kernel = operands(2, (6, 6), (3, 3), 1)
    kernels = jnp.stack([kernel, 2 * kernel])

    def f(kernel):
        return conv(x, kernel, (1, 1), "VALID", (1, 1), LAYOUTS[2], 1)

    np.testing.assert_allclose(jax.vmap(f)(kernels), jnp.stack([f(k) for k in kernels]),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="an XLA:CPU compilation detail")
@pytest.mark.parametrize("use_ours", [True, False])
def test_kernel_gradient_inside_scan_compiles_to_canonical_convolutions_only(use_ours,
                                                                            kernel_tangent):
    """XLA:CPU canonicalizes convolutions only outside loops (jax-ml/jax#12868); the plain kernel
    gradient inside ``scan`` stays ``f01b_i01o->01bf`` and runs on the slow naive emitter. The
    ``use_ours=False`` case shows the check can fail."""
    x, kernel = operands(2, (8, 8), (3, 3), 1)
    fn = conv if use_ours else (
        lambda x, k, s, p, d, dn, g: reference(x, k, s, p, d, g))

    def loop(kernel):
        def step(kernel, _):
            grad = jax.grad(lambda k: jnp.sum(fn(x, k, (1, 1), "VALID", (1, 1), LAYOUTS[2], 1)
                                              ** 2))(kernel)
            return kernel - 0.1 * grad, None
        return jax.lax.scan(step, kernel, None, length=2)[0]

    hlo = jax.jit(loop).lower(kernel).compile().as_text()
    labels = set(re.findall(r"dim_labels=([\w>-]+)", hlo))
    assert labels, "no convolution in the compiled loop"
    assert (labels == {"b01f_01io->b01f"}) is use_ours, labels


@pytest.mark.parametrize(("channels", "size", "expected"), [
    (1, (28, 28), True), (8, (12, 12), True), (64, (3, 3), True), (32, (11, 11), False)])
def test_the_kernel_tangent_form_follows_the_shapes(channels, size, expected):
    x = jnp.zeros((2, *size, channels))
    y = jnp.zeros((2, *size, 4))
    assert _conv_ops._canonical_is_faster(x, y, 1) is expected
    assert _conv_ops._canonical_is_faster(x, y, 2) is False  # grouped: always the dots


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="an XLA:CPU compilation detail")
@pytest.mark.parametrize("kind", ["DepthwiseConv2D", "SeparableConv2D", "Conv2D",
                                  "two Conv2D"])
def test_layer_gradients_inside_scan_compile_to_canonical_convolutions_only(kind):
    """The layers that fit runs inside its epoch loop: no convolution left for the naive
    emitter (before, a depthwise kernel's gradient was a batch-grouped convolution there, and
    the gradient of a second convolution's input a ``b01f_01oi->b01f`` one)."""
    import fnnet
    from fnnet import layers

    layer = {"DepthwiseConv2D": lambda: layers.DepthwiseConv2D(3, depth_multiplier=2),
             "SeparableConv2D": lambda: layers.SeparableConv2D(4, 3),
             "Conv2D": lambda: layers.Conv2D(4, 3),
             "two Conv2D": lambda: fnnet.serial(layers.Conv2D(4, 3), layers.Conv2D(5, 3))}[kind]()
    _, params, state = layer.init(jax.random.key(0), (2, 8, 8, 3))
    x = jax.random.normal(jax.random.key(1), (2, 8, 8, 3))

    def loop(params):
        def step(p, _):
            grads = jax.grad(lambda p: jnp.sum(layer.apply(p, state, x)[0] ** 2))(p)
            return jax.tree.map(lambda a, g: a - 0.1 * g, p, grads), None
        return jax.lax.scan(step, params, None, length=2)[0]

    hlo = jax.jit(loop).lower(params).compile().as_text()
    labels = set(re.findall(r"dim_labels=([\w>-]+)", hlo))
    assert labels == {"b01f_01io->b01f"}, labels
