"""Host-side checks of user data, run before anything is traced.

JAX clamps out-of-range gather indices and broadcasts mismatched shapes without a word, so
these checks turn such mistakes into errors that name the argument and say how to fix it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import losses as losses_lib


def check_batch_size(where: str, batch_size: Any) -> int:
    """``batch_size`` (default 32) as an int >= 1."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(
            f"{where}(batch_size): expected a positive int; got {batch_size!r}. For example "
            f"batch_size=128 (a batch larger than the data is fine: it is cut to the data's "
            f"size, as in Keras)."
        )
    return int(batch_size)


def check_int(where: str, argument: str, value: Any, low: int, allow_none: bool = False) -> None:
    """Refuses anything but an int >= ``low`` (or None when ``allow_none``), naming the
    argument."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = "a non-negative int" if low == 0 else "a positive int"
        raise ValueError(f"{where}({argument}): expected {kind}{' or None' if allow_none else ''}"
                         f"; got {value!r}.")


def _as_array(where: str, argument: str, value: Any, check_values: bool = True) -> np.ndarray:
    if value is None:
        raise ValueError(f"{where}: {argument} is None; pass an array of shape (n, ...).")
    if isinstance(value, jax.Array):
        # Already on a device: check it there instead of copying it to the host.
        arr = value
    elif hasattr(value, "__array__") or isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise TypeError(
                f"{where}: {argument} could not be read as one numeric array ({err}). Pass a "
                f"numpy array of numbers with the same length in every row."
            ) from None
    else:
        raise TypeError(
            f"{where}: {argument} must be an array (numpy, JAX or a nested list); got "
            f"{type(value).__name__}."
        )
    if np.dtype(arr.dtype).kind not in "biuf":
        raise TypeError(
            f"{where}: {argument} has dtype {arr.dtype}, which is not numeric. Convert it, e.g. "
            f"{argument}.astype('float32') for features or integer class ids for labels."
        )
    if arr.ndim == 0:
        raise ValueError(
            f"{where}: {argument} is a scalar; expected an array with one row per example, "
            f"shape (n, ...)."
        )
    if len(arr) == 0:
        raise ValueError(f"{where}: {argument} is empty (shape {arr.shape}); pass at least one "
                         f"example.")
    if not check_values:  # a memmap streamed batch by batch: values are checked per batch
        return arr
    # Fast path: a sum is finite when every element is (one pass in the array's own dtype, no
    # temporary: NaN and Inf propagate through it); only a non-finite sum (NaN/Inf present, or
    # an overflow of huge finite values) pays for the element-wise check.
    if isinstance(arr, jax.Array):
        finite = np.dtype(arr.dtype).kind != "f" or bool(_finite_sum(arr)) \
            or bool(_all_finite(arr))
    else:
        finite = arr.dtype.kind != "f" or np.isfinite(arr.sum()) \
            or np.isfinite(arr).all()
    if not finite:
        bad = np.argwhere(~np.isfinite(np.asarray(arr)))[0]
        raise ValueError(
            f"{where}: {argument} contains NaN or Inf (first at index {tuple(int(i) for i in bad)}"
            f"). Clean or impute the data first, e.g. np.nan_to_num({argument})."
        )
    return arr


# On the device, the same fast path as on the host: one fused reduction (several threads on a
# CPU), and the element-wise check only when the sum is not finite.
_finite_sum = jax.jit(lambda a: jnp.isfinite(jnp.sum(a, dtype=jnp.float32)))
_all_finite = jax.jit(lambda a: jnp.isfinite(a).all())


def _device_dtype(arr: np.ndarray) -> np.ndarray:
    # JAX keeps 32-bit types unless x64 is enabled; convert here so nothing warns or truncates.
    if isinstance(arr, np.ndarray) and not arr.dtype.isnative:
        # Big-endian data (IDX, FITS files): JAX takes native byte order only.
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64:
        return arr.astype(np.int32)
    if arr.dtype == np.uint64 or arr.dtype == np.uint32:
        return arr.astype(np.int32)
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    return arr


def prepare_inputs(where: str, x: Any, check_values: bool = True) -> np.ndarray:
    arr = _as_array(where, "x", x, check_values)
    return arr if not check_values else _device_dtype(arr)


def prepare_targets(where: str, y: Any, n: int) -> np.ndarray:
    arr = _device_dtype(_as_array(where, "y", y))
    if len(arr) != n:
        raise ValueError(
            f"{where}: x and y have different lengths: x has {n} examples, y has {len(arr)}. "
            f"Pass one target per input row."
        )
    return arr


def prepare_sample_weight(where: str, sample_weight: Any, class_weight: Any, y: np.ndarray,
                          n: int) -> np.ndarray | None:
    sw = None
    if sample_weight is not None:
        sw = _as_array(where, "sample_weight", sample_weight).astype(np.float32)
        if sw.ndim == 2 and sw.shape[1] == 1:
            sw = sw[:, 0]
        if sw.shape != (n,):
            raise ValueError(
                f"{where}: sample_weight has shape {sw.shape}, expected ({n},): one weight per "
                f"example."
            )
        if (sw < 0).any():
            raise ValueError(f"{where}: sample_weight has negative entries; weights must be >= 0.")
    if class_weight is not None:
        table = _check_class_weight(where, class_weight)
        labels = _class_ids(y)
        weights = np.ones(n, np.float32)
        for cls, w in table.items():
            weights[labels == cls] = w
        sw = weights if sw is None else sw * weights
    return sw


def _check_class_weight(where: str, class_weight: Any) -> dict[int, float]:
    """``{class id: weight}`` checked as sample weights are: int keys, finite weights >= 0."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"{where}(class_weight): expected a dict {{class_index: weight}}; got "
            f"{type(class_weight).__name__}. For example class_weight={{0: 1.0, 1: 5.0}}."
        )
    table = {}
    for cls, w in class_weight.items():
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or cls < 0:
            raise ValueError(
                f"{where}(class_weight): keys must be class indices (ints >= 0); got "
                f"{cls!r}. For example class_weight={{0: 1.0, 1: 5.0}}."
            )
        if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or \
                not np.isfinite(w) or w < 0:
            raise ValueError(
                f"{where}(class_weight): the weight of class {cls} is {w!r}; weights must be "
                f"finite numbers >= 0 (a negative weight would train against that class)."
            )
        table[int(cls)] = float(w)
    return table


def _class_ids(y: np.ndarray) -> np.ndarray:
    """The class of each row: argmax of one-hot rows, else the label rounded (as Keras does)."""
    y = np.asarray(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        return y.argmax(-1)
    return np.round(y.reshape(len(y))).astype(np.int64)


_ONE_HOT = ("categorical_crossentropy", "categorical_focal_crossentropy")


def check_labels(where: str, loss: Any, y: np.ndarray, output_shape: tuple | None) -> None:
    """Checks targets against the loss and the model's output shape."""
    if output_shape is None or loss is None:
        return
    units = output_shape[-1]
    name = losses_lib.serialize(losses_lib.base_loss(loss))
    if name == "ctc":  # label sequences (n, max_length) against frames (batch, T, classes)
        return
    if losses_lib.is_sparse(loss):
        if y.ndim == len(output_shape) and y.shape[-1] != 1:
            raise ValueError(
                f"{where}: sparse_categorical_crossentropy takes integer class ids of shape "
                f"(n,), but y has shape {y.shape} (one-hot?). Use "
                f"loss='categorical_crossentropy' for one-hot labels, or pass y.argmax(-1)."
            )
        ignored = losses_lib.bound_arguments(loss).get("ignore_class")
        if ignored is not None:  # Keras's ignore_class: those labels are masked, not checked
            y = np.asarray(y)
            y = y[y != ignored]
            if y.size == 0:
                return
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            bad = float(y[y != np.round(y)].ravel()[0])
            raise ValueError(
                f"{where}: sparse labels must be whole numbers, but y contains {bad!r}. Pass "
                f"integer class ids in [0, {units})."
            )
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= units:
            raise ValueError(
                f"{where}: sparse labels must be in [0, {units}) for a model with {units} output "
                f"units, but y has values in [{lo}, {hi}]. Check the labels, or give the last "
                f"layer {max(hi + 1, units)} units."
            )
    elif name in _ONE_HOT or (
            y.ndim == len(output_shape) and y.ndim >= 2 and units > 1):
        if y.ndim != len(output_shape) or y.shape[-1] != units:
            hint = ("Use fnnet.utils.to_categorical(y) for one-hot labels, or "
                    "loss='sparse_categorical_crossentropy' for integer class ids."
                    if name in _ONE_HOT else
                    f"Pass targets of shape (n, {units}).")
            raise ValueError(
                f"{where}: y has shape {y.shape} but the model outputs (batch, "
                f"{', '.join(map(str, output_shape[1:]))}); they must match. {hint}"
            )
    elif units == 1 and not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise ValueError(
            f"{where}: y has shape {y.shape} but the model outputs one value per example; pass y "
            f"of shape (n,) or (n, 1)."
        )
    if name is not None and not losses_lib.is_sparse(loss):
        # Every other built-in loss compares y with the output element by element; a mismatch
        # would otherwise surface mid-trace as a loss error quoting the padded batch's shapes.
        want, got = tuple(output_shape[1:]), tuple(y.shape[1:])
        if got != want and not (want[-1:] == (1,) and got == want[:-1]) and got != (*want, 1):
            raise ValueError(
                f"{where}: y has shape {y.shape} but the model outputs (batch, "
                f"{', '.join(map(str, want))}), and loss {name!r} compares them element by "
                f"element. Pass y of shape (n, {', '.join(map(str, want))}).")
