"""Tests for fnnet.utils.image_dataset_from_directory (fnnet/_image_dataset.py).

Against Keras's own pieces where they run without TensorFlow: ``index_directory`` and
``get_training_or_validation_split`` (which files, which labels, which subset) and
``_load_image_grain`` (Pillow decoding and the JAX backend's resize); against
``jax.image.resize`` for the resize itself.
"""

from __future__ import annotations

import itertools
import os
import sys

import jax
import numpy as np
import pytest

from fnnet import _image_dataset
from fnnet._image_dataset import load_image, resize
from fnnet.utils import image_dataset_from_directory

Image = pytest.importorskip("PIL.Image")


def _save(path, array, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """cat/ and dog/ with images of several sizes, modes and formats, and things to skip."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)

    def rgb(h, w):
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)

    _save(root / "cat" / "a.png", rgb(20, 30))
    _save(root / "cat" / "b.PNG", rgb(9, 9))
    _save(root / "cat" / "c.jpg", rgb(16, 12), quality=95)
    _save(root / "cat" / "d.bmp", rng.integers(0, 256, (7, 11), dtype=np.uint8))  # mode L
    _save(root / "dog" / "e.png", rng.integers(0, 256, (12, 8, 4), dtype=np.uint8))  # RGBA
    _save(root / "dog" / "f.gif", rgb(10, 10))  # palette
    _save(root / "dog" / "sub" / "g.jpeg", rgb(25, 14))  # nested: still a dog
    _save(root / "dog" / "h.png", rng.integers(0, 60000, (6, 9), dtype=np.uint16))  # 16-bit grey
    _save(root / "bird" / "i.png", rgb(8, 8))
    (root / "cat" / "notes.txt").write_text("not an image")
    _save(root / ".hidden" / "j.png", rgb(4, 4))
    return str(root)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip(f"keras runs on {keras.backend.backend()}, not jax")
    return keras


# ---------------------------------------------------------------------------------------------
# Resize: jax.image.resize(antialias=False), in numpy


@pytest.mark.parametrize("method", ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"])
def test_resize_matches_jax(method):
    # Down in one axis and up in the other; up in one only.
    for shape, size in (((20, 30, 3), (7, 45)), ((5, 4, 1), (13, 4))):
        image = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)
        want = jax.image.resize(image, size + shape[2:], method=method, antialias=False)
        got = resize(image, size, method)
        assert got.dtype == np.float32 and got.shape == size + shape[2:]
        np.testing.assert_allclose(got, np.asarray(want), atol=2e-3, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Against Keras


def _keras_index(keras, folder, **kwargs):
    from keras.src.utils import dataset_utils, image_dataset_utils

    args = {"labels": "inferred", "class_names": None, "shuffle": True, "seed": 5}
    args.update(kwargs)
    if isinstance(args["labels"], list):
        args["labels"] = list(args["labels"])  # Keras shuffles the caller's list in place
    return dataset_utils.index_directory(
        folder, formats=image_dataset_utils.ALLOWLIST_FORMATS, follow_links=False, verbose=False,
        **args,
    )  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"seed": 11},
        {"shuffle": False},
        {"class_names": ["dog", "cat"]},
        {"labels": None},
        {"labels": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]},  # the whole tree: 10 files
    ],
)
def test_files_labels_and_classes_equal_keras(keras, folder, kwargs):
    paths, labels, names = _keras_index(keras, folder, **kwargs)
    args = {"labels": "inferred", "class_names": None, "shuffle": True, "seed": 5, **kwargs}
    mine = _image_dataset.index_directory(folder, follow_links=False, **args)
    assert mine[0] == paths and mine[2] == names
    if labels is None:
        assert mine[1] is None
    else:
        np.testing.assert_array_equal(mine[1], labels)
    data = image_dataset_from_directory(folder, verbose=False, image_size=(4, 4), **args)
    assert data.file_paths == paths and data.class_names == names


def test_subsets_equal_keras(keras, folder):
    from keras.src.utils import dataset_utils

    paths, labels, _ = _keras_index(keras, folder, seed=3)
    train, val = image_dataset_from_directory(
        folder, image_size=(4, 4), validation_split=0.34, subset="both", seed=3, verbose=False
    )
    for subset, data in (("training", train), ("validation", val)):
        want_paths, want_labels = dataset_utils.get_training_or_validation_split(
            paths, labels, 0.34, subset
        )
        assert data.file_paths == want_paths
        np.testing.assert_array_equal(data._labels, want_labels)
        alone = image_dataset_from_directory(
            folder, image_size=(4, 4), validation_split=0.34, subset=subset, seed=3, verbose=False
        )
        assert alone.file_paths == want_paths


def test_decoding_equals_keras(keras, folder, monkeypatch):
    """Every file in two of the three colour modes, decoded: Keras's resize made the identity,
    ours skipped (the sizes are the image's own)."""
    from keras.src.ops import image as keras_image
    from keras.src.utils.image_dataset_utils import _load_image_grain

    monkeypatch.setattr(keras_image, "resize", lambda images, **kwargs: images)
    paths, _, _ = _keras_index(keras, folder, labels=None)
    for i, (path, channels) in enumerate(itertools.product(paths, [1, 3, 4])):
        if i % 3 == 2:  # two modes per file, rotating, to keep Keras's eager calls few
            continue
        want = np.asarray(_load_image_grain(path, (1, 1), channels, "bilinear", "channels_last"))
        got = load_image(path, want.shape[:2], channels)
        assert got.dtype == np.float32 and got.shape == want.shape[:2] + (channels,)
        np.testing.assert_array_equal(got, want, err_msg=path)


@pytest.mark.parametrize(
    "name, size, channels, interpolation, crop, pad",
    [
        ("cat/a.png", (10, 16), 3, "bilinear", False, False),
        ("dog/h.png", (10, 16), 1, "bicubic", True, False),  # 16-bit grey, cropped
        ("dog/e.png", (10, 16), 4, "lanczos3", False, True),  # RGBA, padded left and right
        ("cat/a.png", (16, 10), 3, "nearest", False, True),  # padded above and below
    ],
)
def test_resized_images_equal_keras(keras, folder, name, size, channels, interpolation, crop, pad):
    """Crop, pad and resize as Keras's JAX backend (each Keras call compiles, so few)."""
    from keras.src.utils.image_dataset_utils import _load_image_grain

    path = os.path.join(folder, name)
    want = _load_image_grain(path, size, channels, interpolation, "channels_last", crop, pad)
    got = load_image(path, size, channels, interpolation, crop, pad)
    assert got.dtype == np.float32 and got.shape == size + (channels,)
    np.testing.assert_allclose(got, np.asarray(want), atol=2e-3, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# The dataset


def test_batches_labels_and_passes(folder):
    data = image_dataset_from_directory(
        folder, batch_size=4, image_size=(6, 5), seed=7, verbose=False
    )
    assert len(data) == 3 and data.class_names == ["bird", "cat", "dog"]
    class_of = {p: data.class_names.index(p.split(os.sep)[-2 if "sub" not in p else -3])
                for p in data.file_paths}  # fmt: skip
    passes = []
    for _ in range(2):
        images, labels = zip(*list(data), strict=True)
        assert [len(b) for b in images] == [4, 4, 1]
        assert all(b.shape[1:] == (6, 5, 3) and b.dtype == np.float32 for b in images)
        assert all(b.dtype == np.int32 for b in labels)
        x, y = np.concatenate(images), np.concatenate(labels)
        # Each image comes with its own label: find it among the files by its pixels.
        loaded = {p: load_image(p, (6, 5), 3) for p in data.file_paths}
        for image, label in zip(x, y, strict=True):
            (path,) = [p for p, v in loaded.items() if np.array_equal(v, image)]
            assert class_of[path] == label
        passes.append(y.tolist())
    assert sorted(passes[0]) == sorted(passes[1]) and passes[0] != passes[1]  # reshuffled


def test_label_modes_and_formats(folder):
    two = ["cat", "dog"]
    kw = {"image_size": (4, 3), "shuffle": False, "verbose": False, "class_names": two}
    x, y = next(iter(image_dataset_from_directory(folder, label_mode="categorical", **kw)))
    assert y.dtype == np.float32 and y.shape == (8, 2) and y.sum() == 8
    x, y = next(iter(image_dataset_from_directory(folder, label_mode="binary", **kw)))
    assert y.dtype == np.float32 and y.shape == (8, 1) and set(y.ravel()) == {0.0, 1.0}
    x = next(iter(image_dataset_from_directory(folder, label_mode=None, image_size=(4, 3))))
    assert isinstance(x, np.ndarray) and x.shape == (10, 4, 3, 3)  # the whole tree, as Keras
    x, y = next(iter(image_dataset_from_directory(folder, batch_size=None, **kw)))
    assert x.shape == (4, 3, 3) and y.shape == ()
    x, _ = next(iter(image_dataset_from_directory(folder, data_format="channels_first",
                                                  color_mode="grayscale", **kw)))  # fmt: skip
    assert x.shape == (8, 1, 4, 3)
    data = image_dataset_from_directory(folder, image_size=7, labels=None, verbose=False)
    assert next(iter(data)).shape == (10, 7, 7, 3) and data.class_names is None
    assert "10 images, 1 batches" in repr(data)


def test_fit_streams_the_dataset(folder):
    from fnnet import layers, models

    data = image_dataset_from_directory(
        folder, image_size=(8, 8), batch_size=4, seed=1, verbose=False, class_names=["cat", "dog"]
    )
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 3)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()


def test_verbose_prints_counts(folder, capsys):
    image_dataset_from_directory(folder, image_size=(4, 4))
    assert capsys.readouterr().out == "Found 9 files belonging to 3 classes.\n"


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": "folders"}, r"labels must be 'inferred' .* got 'folders'"),
        ({"labels": [1] * 9, "class_names": ["a"]}, r"class_names only applies to labels='inferred'"),
        ({"label_mode": None, "class_names": ["cat"]}, r"class_names only applies to labels="),
        ({"label_mode": "sparse"}, r"label_mode must be 'int', .* got 'sparse'"),
        ({"color_mode": "cmyk"}, r"color_mode must be 'rgb', 'rgba' or 'grayscale', got 'cmyk'"),
        ({"batch_size": 0}, r"batch_size must be a positive int or None .* got 0"),
        ({"image_size": (4,)}, r"image_size must be \(height, width\) of positive ints, got \(4,\)"),
        ({"interpolation": "area"}, r"interpolation must be one of .* got 'area'"),
        ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, r"cannot both be True"),
        ({"data_format": "nhwc"}, r"data_format must be .* got 'nhwc'"),
        ({"validation_split": 1.5, "subset": "both", "seed": 1}, r"a fraction in \(0, 1\), got 1.5"),
        ({"validation_split": 0.2}, r"validation_split and subset go together"),
        ({"validation_split": 0.2, "subset": "test", "seed": 1}, r"subset must be .* got 'test'"),
        ({"validation_split": 0.2, "subset": "both"}, r"with validation_split and shuffle=True, pass a seed"),
        ({"class_names": ["cat", "fish"]}, r"class_names \['cat', 'fish'\] do not match the subfolders"),
        ({"labels": [0, 1]}, r"got 2 labels but found 10 images"),
        ({"label_mode": "binary"}, r"label_mode='binary' needs exactly 2 classes, found 3"),
        ({"validation_split": 0.05, "subset": "validation", "seed": 1}, r"no validation images found"),
    ],
)  # fmt: skip
def test_argument_errors(folder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        image_dataset_from_directory(folder, **{"image_size": (4, 4), "verbose": False, **kwargs})


def test_missing_folder_and_empty_folder(tmp_path):
    with pytest.raises(ValueError, match=r"'.*nowhere' is not a folder"):
        image_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no images found in .*empty"):
        image_dataset_from_directory(tmp_path / "empty", verbose=False)


def test_missing_pillow_gives_install_hint(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match=r"needs Pillow .* run `pip install pillow`"):
        image_dataset_from_directory(folder)
