"""Small array helpers shared by the spatial kernels."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: :func:`numpy.unique` without its cost.

    NumPy 2's plain ``np.unique`` of integers goes through a hash table that,
    on millions of distinct 64-bit keys, is ~100× slower than sorting (19.5 s
    against 0.16 s for 21 M keys on this project's machine); a sort and a
    mask give the same array.

    >>> distinct(np.array([5, 1, 5, 3, 1])).tolist()
    [1, 3, 5]
    """
    s = np.sort(values, axis=None)
    keep: np.ndarray = s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s
    return keep
