"""``conv``: ``jax.lax.conv_general_dilated`` for channels-last layers, with a kernel gradient
that stays on XLA:CPU's fast path inside loops.

Why: XLA:CPU runs a convolution on Eigen only when its dimension numbers are canonical
(``b01f_01io->b01f``), and its ``ConvCanonicalization`` pass rewrites the others into that form
only in the top-level computation, not inside ``while`` or ``cond`` bodies (jax-ml/jax#12868).
The kernel gradient JAX derives for a channels-last convolution is a non-canonical convolution
(``f01b_i01o->01bf``), so inside ``fit``'s epoch loop it ran on XLA's naive loop emitter: 70x
slower than the same gradient outside a loop, and a whole MNIST convnet step 10-20x slower.

On CPU, :func:`conv` therefore declares its own JVP: the kernel's tangent is the sum, over the
kernel's offsets, of a strided view of the padded input contracted with that offset's slice of
the kernel (``dot_general``), so its transpose, the kernel gradient, is a sum of dots, which XLA
runs fast anywhere. The input's tangent is the convolution itself, whose transpose JAX emits in
canonical form. Values are those of ``conv_general_dilated``; forward and reverse mode, ``vmap``
and higher orders all work. On other platforms :func:`conv` is ``conv_general_dilated`` itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

__all__ = ["conv"]


def conv(x: jax.Array, kernel: jax.Array, strides: Sequence[int], padding: Any,
         dilation: Sequence[int], dimension_numbers: tuple, groups: int) -> jax.Array:
    """``jax.lax.conv_general_dilated(x, kernel, strides, padding, rhs_dilation=dilation,
    dimension_numbers=dimension_numbers, feature_group_count=groups)``.

    ``x`` is channels-last ``(batch, *spatial, channels)`` and ``kernel`` ``(*kernel_size,
    channels // groups, filters)``, as ``dimension_numbers`` (one of ``_spatial.LAYOUTS``) says.

    Example:
        >>> import jax.numpy as jnp
        >>> x, k = jnp.ones((2, 5, 5, 3)), jnp.ones((3, 3, 3, 4))
        >>> y = conv(x, k, (1, 1), "VALID", (1, 1), ("NHWC", "HWIO", "NHWC"), 1)
        >>> y.shape, float(y[0, 0, 0, 0])
        ((2, 3, 3, 4), 27.0)
    """
    strides, dilation = tuple(strides), tuple(dilation)

    def plain(x, kernel):
        return jax.lax.conv_general_dilated(
            x, kernel, strides, padding, rhs_dilation=dilation,
            dimension_numbers=dimension_numbers, feature_group_count=groups)

    @jax.custom_jvp
    def cpu(x, kernel):
        return plain(x, kernel)

    def cpu_jvp(primals, tangents):
        x, kernel = primals
        dx, dkernel = tangents
        y = plain(x, kernel)
        dy = jnp.zeros_like(y)
        if not isinstance(dx, SymbolicZero):
            dy = dy + plain(dx, kernel)
        if not isinstance(dkernel, SymbolicZero):
            dy = dy + _by_offsets(x, dkernel, y.shape, strides, padding, dilation, groups)
        return y, dy

    cpu.defjvp(cpu_jvp, symbolic_zeros=True)
    return jax.lax.platform_dependent(x, kernel, cpu=cpu, default=plain)


def _by_offsets(x, kernel, out_shape, strides, padding, dilation, groups):
    """The same convolution as a sum of dots, one per kernel offset (linear in ``kernel``)."""
    rank = x.ndim - 2
    size = kernel.shape[:rank]
    if isinstance(padding, str):
        window = [(k - 1) * d + 1 for k, d in zip(size, dilation, strict=True)]
        padding = jax.lax.padtype_to_pads(x.shape[1:-1], window, strides, padding)
    padded = jnp.pad(x, [(0, 0), *padding, (0, 0)])
    batch, channels, filters = x.shape[0], x.shape[-1], kernel.shape[-1]
    out = 0
    for offset in itertools.product(*map(range, size)):
        start = [o * d for o, d in zip(offset, dilation, strict=True)]
        stop = [s + (n - 1) * st + 1 for s, n, st in zip(start, out_shape[1:-1], strides,
                                                         strict=True)]
        view = jax.lax.slice(padded, (0, *start, 0), (batch, *stop, channels), (1, *strides, 1))
        w = kernel[offset]  # (channels // groups, filters)
        # Group g reads input channels [g*C/G, (g+1)*C/G) and writes filters [g*F/G, (g+1)*F/G).
        view = view.reshape(*view.shape[:-1], groups, channels // groups)
        w = w.reshape(channels // groups, groups, filters // groups)
        part = jnp.einsum("...gc,cgf->...gf", view, w)
        out = out + part.reshape(*part.shape[:-2], filters)
    return out
