"""Datasets with Keras's ``load_data`` convention: ``((x_train, y_train), (x_test, y_test))``.

- :mod:`~fnnet.datasets.mnist`: MNIST from Keras's ``mnist.npz`` (cached or downloaded), or
  from the original IDX files.
- :mod:`~fnnet.datasets.digits`, :mod:`~fnnet.datasets.breast_cancer`,
  :mod:`~fnnet.datasets.diabetes`: small real datasets shipped inside scikit-learn (an optional
  extra, ``pip install fnnet[datasets]``), imported only when ``load_data`` is called.

Example:
    >>> from fnnet.datasets import digits
    >>> (x_train, y_train), (x_test, y_test) = digits.load_data()
    >>> x_train.shape
    (1437, 64)
"""

from fnnet.datasets import breast_cancer, diabetes, digits, mnist
from fnnet.datasets._download import DownloadError

__all__ = ["DownloadError", "breast_cancer", "diabetes", "digits", "mnist"]
