"""Datasets with Keras's ``load_data`` convention: ``((x_train, y_train), (x_test, y_test))``.

Keras's datasets, from Keras's files, with Keras's arguments, shapes, dtypes and shuffles (the
same arguments give the same arrays as ``keras.datasets``):

- :mod:`~fnnet.datasets.mnist` and :mod:`~fnnet.datasets.fashion_mnist`: 28x28 grey images;
- :mod:`~fnnet.datasets.cifar10` and :mod:`~fnnet.datasets.cifar100`: 32x32 colour images;
- :mod:`~fnnet.datasets.imdb` and :mod:`~fnnet.datasets.reuters`: word-index sequences, with
  their word indexes;
- :mod:`~fnnet.datasets.boston_housing` and :mod:`~fnnet.datasets.california_housing`:
  regression tables.

Each file is looked for in the fnnet cache (``$FNNET_HOME/datasets``, default ``~/.fnnet``)
and then in Keras's (``$KERAS_HOME/datasets``, default ``~/.keras``), so what Keras already
fetched is reused; otherwise it is downloaded from Keras's URL, kept only when complete and
matching Keras's hash. Pickled content (CIFAR's batches, IMDB's and Reuters' ragged lists) is
never unpickled: fnnet parses it with its own reader, which runs nothing from the file.

Small real datasets shipped inside scikit-learn (an optional extra, ``pip install
fnnet[datasets]``), imported only when ``load_data`` is called:
:mod:`~fnnet.datasets.digits`, :mod:`~fnnet.datasets.breast_cancer`,
:mod:`~fnnet.datasets.diabetes`.

Example:
    >>> from fnnet.datasets import digits
    >>> (x_train, y_train), (x_test, y_test) = digits.load_data()
    >>> x_train.shape
    (1437, 64)
    >>> from fnnet.datasets import imdb
    >>> (x_train, y_train), _ = imdb.load_data(num_words=10000)  # doctest: +SKIP
"""

from fnnet.datasets import (
    boston_housing,
    breast_cancer,
    california_housing,
    cifar10,
    cifar100,
    diabetes,
    digits,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from fnnet.datasets._download import DownloadError

__all__ = [
    "DownloadError",
    "boston_housing",
    "breast_cancer",
    "california_housing",
    "cifar10",
    "cifar100",
    "diabetes",
    "digits",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
]
