"""``image_dataset_from_directory``: Keras's image folders as a re-iterable of numpy batches.

It follows Keras's ``format="grain"`` path, the one that needs no TensorFlow: the files are
listed, labelled, shuffled and split exactly as ``keras.utils.image_dataset_from_directory``
does (the same seed gives the same files in each subset), decoded with Pillow (an optional
dependency, ``pip install pillow``), and resized as Keras's JAX backend resizes them
(``jax.image.resize`` with ``antialias=False``, ported to numpy here so images of many sizes
compile nothing). Exported as :func:`fnnet.utils.image_dataset_from_directory`.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["ImageDataset", "image_dataset_from_directory", "load_image"]

FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_EPS = np.float32(1000.0 * np.finfo(np.float32).eps)


def _pillow():
    try:
        return importlib.import_module("PIL.Image")
    except ImportError as err:
        raise ImportError(
            "fnnet.utils.image_dataset_from_directory needs Pillow to decode images, which is not "
            "installed; run `pip install pillow`."
        ) from err


# ------------------------------------------------------------------------------ resizing
# jax.image.resize's kernels and weight matrices (jax/_src/image/scale.py), in float32 as there.


def _triangle(x):
    return np.maximum(np.float32(0), np.float32(1) - np.abs(x))


def _keys_cubic(x):
    out = ((np.float32(1.5) * x - np.float32(2.5)) * x) * x + np.float32(1)
    far = ((np.float32(-0.5) * x + np.float32(2.5)) * x - np.float32(4)) * x + np.float32(2)
    out = np.where(x >= 1, far, out)
    return np.where(x >= 2, np.float32(0), out)


def _lanczos(radius):
    def kernel(x):
        r = np.float32(radius)
        y = r * np.sin(np.float32(np.pi) * x) * np.sin(np.float32(np.pi) * x / r)
        safe = np.where(x != 0, np.float32(np.pi**2) * x * x, np.float32(1))
        out = np.where(x > np.float32(1e-3), y / safe, np.float32(1))
        return np.where(x > r, np.float32(0), out).astype(np.float32)

    return kernel


_KERNELS = {
    "bilinear": _triangle,
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3),
    "lanczos5": _lanczos(5),
}


def _weights(n_in: int, n_out: int, kernel) -> np.ndarray:
    inv_scale = np.float32(1.0) / np.float32(n_out / n_in)
    sample = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * inv_scale - np.float32(0.5)
    x = np.abs(sample[None, :] - np.arange(n_in, dtype=np.float32)[:, None])
    w = kernel(x).astype(np.float32)
    total = w.sum(axis=0, keepdims=True, dtype=np.float32)
    w = np.where(np.abs(total) > _EPS, w / np.where(total != 0, total, 1), np.float32(0))
    inside = (sample >= -0.5) & (sample <= np.float32(n_in - 0.5))
    return np.where(inside[None, :], w, np.float32(0)).astype(np.float32)


def resize(image: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """Resize an ``(h, w, c)`` float32 image as ``jax.image.resize(..., antialias=False)``.

    Example:
        >>> resize(np.arange(4, dtype=np.float32).reshape(2, 2, 1), (1, 1), "bilinear")[..., 0]
        array([[1.5]], dtype=float32)
    """
    for axis, n_out in enumerate(size):
        n_in = image.shape[axis]
        if n_in == n_out:
            continue
        if interpolation == "nearest":
            offsets = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * np.float32(n_in)
            index = np.floor(offsets / np.float32(n_out)).astype(np.int64)
            image = np.take(image, index, axis=axis)
        else:
            w = _weights(n_in, n_out, _KERNELS[interpolation])
            image = np.moveaxis(np.tensordot(image, w, axes=([axis], [0])), -1, axis)
    return image.astype(np.float32, copy=False)


def _crop_or_pad(img: np.ndarray, size: tuple[int, int], crop: bool, pad: bool) -> np.ndarray:
    # Keras's keras.ops.image.resize (JAX backend), integer arithmetic and all.
    height, width = img.shape[:2]
    target_h, target_w = size
    if crop:
        crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
        crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
        top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
        return img[top : top + crop_h, left : left + crop_w]
    if pad:
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
        # As Keras: the same margin on both sides, so an odd difference loses a row.
        if top > 0:
            return np.pad(img, ((top, top), (0, 0), (0, 0)))
        if left > 0:
            return np.pad(img, ((0, 0), (left, left), (0, 0)))
    return img


def load_image(
    path: str,
    image_size: tuple[int, int],
    num_channels: int,
    interpolation: str = "bilinear",
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
) -> np.ndarray:
    """Decode one image with Pillow and resize it: float32 ``(height, width, num_channels)``.

    Grayscale keeps 16- and 32-bit grey images as they are (as Keras does); other modes are
    converted to ``L``, ``RGB`` or ``RGBA``. Values stay in the file's range (0-255 for 8-bit).

    Example:
        >>> load_image("cat.png", (64, 64), 3).shape  # doctest: +SKIP
        (64, 64, 3)
    """
    image_module = _pillow()
    with image_module.open(path) as img:
        keep = ("L", "I;16", "I") if num_channels == 1 else (_MODES[num_channels],)
        pixels = np.asarray(img if img.mode in keep else img.convert(_MODES[num_channels]))
    pixels = pixels.astype(np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    pixels = _crop_or_pad(pixels, image_size, crop_to_aspect_ratio, pad_to_aspect_ratio)
    return resize(pixels, image_size, interpolation)


# ------------------------------------------------------------------------------ indexing


def _list_files(directory: str, follow_links: bool) -> list[str]:
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda x: x[0]):
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(FORMATS)]
    return found


def index_directory(
    directory: str,
    labels,
    class_names: Sequence[str] | None,
    shuffle: bool,
    seed: int,
    follow_links: bool,
) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """Keras's ``index_directory``: the files, their labels and the class names, in its order.

    Example:
        >>> index_directory("flowers", "inferred", None, True, 1, False)  # doctest: +SKIP
    """
    if labels == "inferred":
        subdirs = [
            d.rstrip("/")
            for d in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(
                    f"image_dataset_from_directory: class_names {list(class_names)} do not match "
                    f"the subfolders of {directory!r}, which are {subdirs}; pass a subset of "
                    f"them, or class_names=None."
                )
            subdirs = list(class_names)
    else:
        subdirs = [""]
    paths, inferred = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        for file in _list_files(folder, follow_links):
            # Keras's path: "<directory>/<subdir>/<path below it>" (no subdir for labels not
            # inferred, where basename("<directory>/") is "").
            relative = os.path.join(os.path.basename(folder), os.path.relpath(file, folder))
            paths.append(os.path.join(directory, relative))
            inferred.append(index)
    if labels == "inferred":
        label_array = np.array(inferred, dtype=np.int32)
        names = subdirs
    elif labels is None:
        label_array, names = None, None
    else:
        if len(labels) != len(paths):
            raise ValueError(
                f"image_dataset_from_directory: got {len(labels)} labels but found {len(paths)} "
                f"images in {directory!r}; pass one label per image, in the sorted order of "
                f"their paths."
            )
        label_array = np.asarray(labels)
        names = [str(label) for label in sorted(set(labels))]
    if shuffle:
        # Keras shuffles paths and labels with two RandomStates of the same seed; a list and an
        # array shuffle differently, so explicit labels are shuffled as the list Keras has.
        np.random.RandomState(seed).shuffle(paths)  # noqa: NPY002 (Keras's exact shuffle)
        if labels == "inferred":
            np.random.RandomState(seed).shuffle(label_array)  # noqa: NPY002
        elif labels is not None:
            label_list = list(labels)
            np.random.RandomState(seed).shuffle(label_list)  # noqa: NPY002
            label_array = np.asarray(label_list)
    return paths, label_array, names


# ------------------------------------------------------------------------------ the dataset


class ImageDataset:
    """Batches of ``(images, labels)`` read from image files, reshuffled on every pass.

    Iterating yields numpy batches: ``images`` float32 ``(batch, height, width, channels)``
    (channels first with ``data_format="channels_first"``), ``labels`` as ``label_mode`` says;
    with ``label_mode=None`` only the images. Each ``iter()`` starts a new pass (an epoch), so
    ``fit`` can stream it for many epochs. ``len()`` is the number of batches.

    Attributes:
        file_paths: the image files, in the dataset's (first-pass, unshuffled) order.
        class_names: the class of each label index, or None without labels.
    """

    def __init__(self, file_paths, labels, class_names, *, label_mode, num_channels, batch_size,
                 image_size, shuffle, seed, interpolation, crop_to_aspect_ratio,
                 pad_to_aspect_ratio, data_format):  # fmt: skip
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self._labels = labels
        self._label_mode = label_mode
        self._num_channels = num_channels
        self._batch_size = batch_size
        self._image_size = image_size
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._resize = (interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio)
        self._channels_first = data_format == "channels_first"

    def __len__(self) -> int:
        if self._batch_size is None:
            return len(self.file_paths)
        return math.ceil(len(self.file_paths) / self._batch_size)

    def _label_batch(self, index: np.ndarray) -> np.ndarray:
        labels = self._labels[index]
        if self._label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[labels]
        if self._label_mode == "binary":
            return labels.astype(np.float32)[:, None]
        return labels.astype(np.int32) if labels.dtype.kind in "iub" else labels

    def _images(self, index: np.ndarray) -> np.ndarray:
        images = np.stack(
            [
                load_image(self.file_paths[i], self._image_size, self._num_channels, *self._resize)
                for i in index
            ]
        )
        return images.transpose(0, 3, 1, 2) if self._channels_first else images

    def __iter__(self) -> Iterator:
        n = len(self.file_paths)
        order = self._rng.permutation(n) if self._shuffle else np.arange(n)
        step = self._batch_size or 1
        for start in range(0, n, step):
            index = order[start : start + step]
            images = self._images(index)
            labels = None if self._label_mode is None else self._label_batch(index)
            if self._batch_size is None:
                images, labels = images[0], None if labels is None else labels[0]
            yield images if labels is None else (images, labels)

    def __repr__(self) -> str:
        return (
            f"ImageDataset({len(self.file_paths)} images, {len(self)} batches, "
            f"class_names={self.class_names})"
        )


def _check_split(validation_split, subset, shuffle, seed) -> None:
    if validation_split is not None and not (
        isinstance(validation_split, int | float) and 0 < validation_split < 1
    ):
        raise ValueError(
            f"image_dataset_from_directory: validation_split must be a fraction in (0, 1), got "
            f"{validation_split!r}; pass e.g. validation_split=0.2."
        )
    if bool(validation_split) != bool(subset):
        raise ValueError(
            f"image_dataset_from_directory: validation_split and subset go together, got "
            f"validation_split={validation_split!r} and subset={subset!r}; pass both (e.g. "
            f"validation_split=0.2, subset='both') or neither."
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f"image_dataset_from_directory: subset must be 'training', 'validation' or 'both', "
            f"got {subset!r}."
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "image_dataset_from_directory: with validation_split and shuffle=True, pass a seed "
            "(e.g. seed=1337), so the training and validation subsets do not overlap across calls."
        )


def _check_args(labels, label_mode, class_names, color_mode, batch_size, image_size,
                interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format):  # fmt: skip
    if labels not in ("inferred", None) and not isinstance(labels, list | tuple):
        raise ValueError(
            f"image_dataset_from_directory: labels must be 'inferred' (from the subfolders), None "
            f"(images only) or a list of one label per image, got {labels!r}."
        )
    if class_names is not None and labels != "inferred":
        raise ValueError(
            "image_dataset_from_directory: class_names only applies to labels='inferred' with a "
            "label_mode; drop class_names (with explicit labels, the class names are the sorted "
            "labels)."
        )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            f"image_dataset_from_directory: label_mode must be 'int', 'categorical', 'binary' or "
            f"None, got {label_mode!r}."
        )
    if color_mode not in _CHANNELS:
        raise ValueError(
            f"image_dataset_from_directory: color_mode must be 'rgb', 'rgba' or 'grayscale', got "
            f"{color_mode!r}."
        )
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            f"image_dataset_from_directory: batch_size must be a positive int or None (single "
            f"images), got {batch_size!r}."
        )
    if not (
        isinstance(image_size, list | tuple)
        and len(image_size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in image_size)
    ):
        raise ValueError(
            f"image_dataset_from_directory: image_size must be (height, width) of positive ints, "
            f"got {image_size!r}; pass e.g. image_size=(180, 180)."
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"image_dataset_from_directory: interpolation must be one of {INTERPOLATIONS} (those "
            f"of Keras's JAX backend), got {interpolation!r}."
        )
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "image_dataset_from_directory: crop_to_aspect_ratio and pad_to_aspect_ratio cannot "
            "both be True; pick one."
        )
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(
            f"image_dataset_from_directory: data_format must be 'channels_last', "
            f"'channels_first' or None, got {data_format!r}."
        )


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    verbose: bool = True,
) -> ImageDataset | tuple[ImageDataset, ImageDataset]:
    """Image files in class subfolders, as ``keras.utils.image_dataset_from_directory``.

    With ``directory/cat/*.jpg`` and ``directory/dog/*.jpg``, the labels are 0 for ``cat`` and 1
    for ``dog`` (sorted folder names, or the order of ``class_names``). Files ending in
    ``.bmp``, ``.gif`` (first frame), ``.jpeg``, ``.jpg`` or ``.png`` are used. The result is an
    :class:`ImageDataset`: a re-iterable of numpy batches that ``fit`` streams.

    Shapes and dtypes: images float32 ``(batch, height, width, channels)`` with 1, 3 or 4
    channels (``color_mode``), values 0-255 (not rescaled). Labels: int32 ``(batch,)`` for
    ``"int"``; float32 one-hot ``(batch, classes)`` for ``"categorical"``; float32
    ``(batch, 1)`` for ``"binary"`` (two classes); none for ``label_mode=None``.

    As in Keras: files are sorted, then shuffled with ``np.random.RandomState(seed)`` when
    ``shuffle``; ``validation_split`` keeps the last ``int(split * N)`` of that order for
    validation, so the same seed gives the same subsets as Keras; ``seed=None`` draws one with
    ``np.random.randint(1e6)``. Images are resized as Keras's JAX backend does (no
    antialiasing), after a centred crop or zero padding to the target aspect ratio when asked.
    One difference: each pass is reshuffled with ``np.random.default_rng(seed)`` (Keras's
    ``tf.data``/``grain`` shuffles draw other orders), and the ``validation`` subset of
    ``subset="both"`` is not shuffled, as in Keras.

    Args:
        directory: the folder of images (in class subfolders when ``labels="inferred"``).
        labels: ``"inferred"`` from the subfolders, None for no labels, or a list of one int
            label per image, in the sorted order of the image paths.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or None (images only).
        class_names: with ``labels="inferred"``, the subfolders to use, in label order.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        batch_size: images per batch; None yields single ``(image, label)`` pairs.
        image_size: ``(height, width)`` every image is resized to (an int for a square).
        shuffle: shuffle the files (and reshuffle each pass); False keeps them sorted.
        seed: the seed for the shuffles and the split.
        validation_split: the fraction kept for validation, in (0, 1); needs ``subset``.
        subset: ``"training"``, ``"validation"``, or ``"both"`` for the pair.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"lanczos3"`` or
            ``"lanczos5"`` (Keras's TensorFlow-only ``"area"``, ``"gaussian"`` and
            ``"mitchellcubic"`` are not available).
        follow_links: follow symbolic links to subfolders.
        crop_to_aspect_ratio: crop the largest centred window of the target aspect ratio
            first, so images are not distorted.
        pad_to_aspect_ratio: pad with zeros to the target aspect ratio first instead.
        data_format: ``"channels_last"`` (None means this) or ``"channels_first"``.
        verbose: print how many files and classes were found.

    Returns:
        An :class:`ImageDataset`, or ``(training, validation)`` for ``subset="both"``.

    Raises:
        ImportError: Pillow is not installed.
        ValueError: an argument is invalid, ``class_names`` are not subfolders, the labels do
            not match the images in number, ``"binary"`` does not have two classes, or a
            subset has no images.

    Example:
        >>> train, val = image_dataset_from_directory(  # doctest: +SKIP
        ...     "flowers", image_size=(180, 180), validation_split=0.2, subset="both", seed=1)
        >>> images, labels = next(iter(train))  # doctest: +SKIP
        >>> images.shape, labels.dtype  # doctest: +SKIP
        ((32, 180, 180, 3), dtype('int32'))
    """
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if isinstance(interpolation, str):
        interpolation = interpolation.lower()
    if label_mode is None and labels in ("inferred", None):
        labels = None  # as Keras: no label_mode, no labels (and so no class_names)
    _check_args(labels, label_mode, class_names, color_mode, batch_size, image_size,
                interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format)  # fmt: skip
    _check_split(validation_split, subset, shuffle, seed)
    _pillow()
    if labels is None or label_mode is None:
        labels = label_mode = None
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"image_dataset_from_directory: {directory!r} is not a folder.")
    if seed is None:
        seed = int(np.random.randint(1e6))  # noqa: NPY002 (Keras draws its default seed so)
    paths, label_array, names = index_directory(
        directory, labels, class_names, shuffle, seed, follow_links
    )
    if verbose:
        found = f" belonging to {len(names)} classes" if names is not None else ""
        print(f"Found {len(paths)} files{found}.")
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f"image_dataset_from_directory: label_mode='binary' needs exactly 2 classes, found "
            f"{len(names)} ({names}); use label_mode='int' or 'categorical'."
        )
    options = dict(
        label_mode=label_mode, num_channels=_CHANNELS[color_mode], batch_size=batch_size,
        image_size=tuple(image_size), seed=seed, interpolation=interpolation,
        crop_to_aspect_ratio=crop_to_aspect_ratio, pad_to_aspect_ratio=pad_to_aspect_ratio,
        data_format=data_format,
    )  # fmt: skip
    n_val = int(validation_split * len(paths)) if validation_split else 0
    parts = {
        "training": (slice(0, len(paths) - n_val), shuffle),
        "validation": (slice(len(paths) - n_val, None), shuffle and subset != "both"),
    }
    datasets = []
    for name in ("training", "validation") if subset == "both" else (subset,):
        part, shuffle_part = parts[name] if name else (slice(None), shuffle)
        part_paths = paths[part]
        if not part_paths:
            where = f"{name} " if name else ""
            raise ValueError(
                f"image_dataset_from_directory: no {where}images found in {directory!r} (files "
                f"ending in {', '.join(FORMATS)}); check the folder, or lower validation_split."
            )
        part_labels = None if label_array is None else label_array[part]
        datasets.append(
            ImageDataset(part_paths, part_labels, names, shuffle=shuffle_part, **options)
        )
    return tuple(datasets) if subset == "both" else datasets[0]
