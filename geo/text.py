"""Text columns worked once per distinct text: a crash file repeats most of its
texts (counts, causes, places, blank cells), so per distinct text is far
cheaper than per row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd


def per_text(values: pd.Series, fn: Callable[[pd.Series], npt.ArrayLike]) -> np.ndarray:
    """``fn`` (a function of a Series of texts) worked once per distinct text of
    ``values`` and spread back to every row.

    Parameters
    ----------
    values
        The texts, one per row.
    fn
        Takes a Series of the distinct texts and returns one result per text.

    Returns
    -------
    numpy.ndarray
        ``fn``'s result for each row's text.

    Examples
    --------
    >>> per_text(pd.Series([" a", "b ", " a"]), lambda u: u.str.strip()).tolist()
    ['a', 'b', 'a']
    """
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=False)
    out = fn(pd.Series(np.asarray(uniques, dtype=object)))
    return np.asarray(out)[codes] if len(codes) else np.asarray(out)


def repeats_enough(values: npt.ArrayLike) -> bool:
    """Whether working a column once per distinct text pays: a short column,
    or one whose first thousand texts hold fewer than 500 distinct ones
    (counts, roads, dates without a time). A column of nearly all distinct
    texts (ids, coordinates) is cheaper worked row by row than factorised.

    >>> repeats_enough(np.array(["0", "1"] * 5000, dtype=object)), repeats_enough(np.arange(5000).astype(str))
    (True, False)
    """
    v = np.asarray(values, dtype=object)
    return len(v) <= 1000 or len(pd.unique(v[:1000])) < 500


def trimmed(values: pd.Series) -> pd.Series:
    """Every value as text without surrounding spaces, keeping the index.

    Parameters
    ----------
    values
        Any values (None becomes ``"None"``, as ``str`` writes it).

    Returns
    -------
    pandas.Series
        Texts (object dtype) on ``values``' index.

    Examples
    --------
    >>> trimmed(pd.Series([" 12 ", None, 3])).tolist()
    ['12', 'None', '3']
    """
    # one pass, not per distinct text: hashing the texts costs more than stripping them (and a text with
    # nothing to strip comes back as the same object, so no memory is added)
    out = np.empty(len(values), dtype=object)
    out[:] = [str(x).strip() for x in values.to_numpy(dtype=object)]
    return pd.Series(out, index=values.index, dtype=object)
