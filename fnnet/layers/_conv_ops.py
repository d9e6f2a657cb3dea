"""``conv``: ``jax.lax.conv_general_dilated`` for channels-last layers, with a kernel gradient
that stays on XLA:CPU's fast path inside loops.

Why: XLA:CPU runs a convolution on Eigen only when its dimension numbers are canonical
(``b01f_01io->b01f``), and its ``ConvCanonicalization`` pass rewrites the others into that form
only in the top-level computation, not inside ``while`` or ``cond`` bodies (jax-ml/jax#12868).
The kernel gradient JAX derives for a channels-last convolution is a non-canonical convolution
(``f01b_i01o->01bf``), so inside ``fit``'s epoch loop it ran on XLA's naive loop emitter: 70x
slower than the same gradient outside a loop, and a whole MNIST convnet step 10-20x slower.

On CPU, :func:`conv` therefore declares its own JVP, with the kernel's tangent in one of two
forms whose transposes (the kernel gradient) XLA runs fast anywhere:

- canonical: the same convolution with the input laid out ``(channels, *spatial, batch)``, the
  kernel ``(in, *size, out)`` and the output ``(*spatial, batch, filters)``, so that JAX's
  kernel-gradient rule, which swaps the first two entries of each layout, emits a canonical
  ``b01f_01io->b01f`` convolution (explicit transposes around it);
- offsets: the sum, over the kernel's offsets, of a strided view of the padded input contracted
  with that offset's slice of the kernel (``dot_general``), whose transpose is a sum of dots.

The canonical form compiles in about half the time; which one runs faster depends on the
shapes (:func:`_canonical_is_faster`), and grouped convolutions always take the dots. The
input's tangent is the convolution itself with the kernel laid out ``(*size, out, in)``, so that
its transpose, the input gradient, is canonical too (from the usual layout JAX emits
``b01f_01oi->b01f``, 2x slower in a loop). Values
are those of ``conv_general_dilated``; forward and reverse mode, ``vmap`` and higher orders all
work. On other platforms :func:`conv` is ``conv_general_dilated`` itself.
"""

from __future__ import annotations

import itertools
import math
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
            dy = dy + _input_tangent(dx, kernel, strides, padding, dilation, groups)
        if not isinstance(dkernel, SymbolicZero):
            if _canonical_is_faster(x, y, groups):
                dy = dy + _canonical(x, dkernel, strides, padding, dilation)
            else:
                dy = dy + _by_offsets(x, dkernel, y.shape, strides, padding, dilation, groups)
        return y, dy

    cpu.defjvp(cpu_jvp, symbolic_zeros=True)
    return jax.lax.platform_dependent(x, kernel, cpu=cpu, default=plain)


def _input_tangent(dx, kernel, strides, padding, dilation, groups):
    """``conv(dx, kernel)`` with the kernel laid out ``(*size, out, in)``.

    JAX's input-gradient rule swaps the kernel's in and out entries: from the usual layout it
    emits ``b01f_01oi->b01f``, which XLA:CPU runs about 2x slower inside a loop; from this one,
    the canonical ``b01f_01io->b01f``.
    """
    rank = dx.ndim - 2
    kt = jnp.transpose(kernel, (*range(rank), rank + 1, rank))
    spec = (0, rank + 1, *range(1, rank + 1))
    dn = jax.lax.ConvDimensionNumbers(lhs_spec=spec, rhs_spec=(rank, rank + 1, *range(rank)),
                                      out_spec=spec)
    return jax.lax.conv_general_dilated(dx, kt, strides, padding, rhs_dilation=dilation,
                                        dimension_numbers=dn, feature_group_count=groups)


def _canonical_is_faster(x: jax.Array, y: jax.Array, groups: int) -> bool:
    """Which form of the kernel's tangent to use (both give the same values).

    The canonical convolution compiles in about half the time of one dot per offset. Measured
    on a 2-core x86 CPU inside a scan (the book's convnet, batch 64), it also runs faster
    when the input has few channels (1 channel, 28x28: 2.8 ms against 5.2 ms a step) or the
    output few positions (3x3: 1.2 against 1.4), and slower for many channels over many
    positions (32 channels, 11x11: 11.1 against 8.1), where Eigen's patches get large.
    """
    if groups != 1:
        return False  # the gradient's convolution would need batch groups: not Eigen's
    positions = math.prod(y.shape[1:-1])
    return x.shape[-1] <= 8 or positions <= 16


def _canonical(x, kernel, strides, padding, dilation):
    """The same convolution laid out so that its transpose in ``kernel`` is canonical.

    ``x`` goes in as ``(channels, *spatial, batch)`` and ``kernel`` as ``(in, *size, out)``,
    the output comes out ``(*spatial, batch, filters)``: JAX's kernel-gradient rule swaps the
    first two entries of each spec, which makes the gradient's convolution ``b01f_01io->b01f``.
    """
    rank = x.ndim - 2
    spatial = tuple(range(1, rank + 1))
    xt = jnp.transpose(x, (rank + 1, *spatial, 0))
    kt = jnp.transpose(kernel, (rank, *range(rank), rank + 1))
    dn = jax.lax.ConvDimensionNumbers(lhs_spec=(rank + 1, 0, *spatial),
                                      rhs_spec=(rank + 1, 0, *spatial),
                                      out_spec=(rank, rank + 1, *range(rank)))
    out = jax.lax.conv_general_dilated(xt, kt, strides, padding, rhs_dilation=dilation,
                                       dimension_numbers=dn)
    return jnp.transpose(out, (rank, *range(rank), rank + 1))


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
