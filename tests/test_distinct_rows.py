"""The table shortcuts of the evaluator and the wording (distinct rows, text columns built from codes, rank
order) against hand-worked expectations, including the cases where they must not merge or must fall back."""

import numpy as np
import pandas as pd

from scoring.evaluator import _by_rank, _text_column
from scoring.wording import distinct_rows, from_codes


def test_distinct_rows_keeps_nan_and_negative_zero_apart_from_others():
    f = pd.DataFrame({"x": [0.0, -0.0, np.nan, 0.0, np.nan, 0.0], "t": ["a", "a", "a", "a", "b", "a"],
                      "n": [1, 1, 1, 1, 1, 2]})
    codes, first = distinct_rows(f, ["x", "t", "n"])
    assert codes.tolist() == [0, 1, 2, 0, 3, 4]
    assert first.tolist() == [0, 1, 2, 4, 5]


def test_distinct_rows_more_codes_and_object_columns():
    f = pd.DataFrame({"x": [1.0, 1.0, 1.0], "o": pd.Series([1, 1, 1], dtype=object)})
    codes, first = distinct_rows(f, ["x"], [np.array([0, 2, 0])])
    assert codes.tolist() == [0, 1, 0] and first.tolist() == [0, 1]
    codes, first = distinct_rows(f, ["x", "o"])  # an object column: nothing merged
    assert codes.tolist() == [0, 1, 2]


def test_from_codes_gives_the_string_column():
    col = from_codes(np.array([1, 0, 1]), np.array(["甲", "乙"], dtype=object))
    expected = pd.Series(np.array(["乙", "甲", "乙"], dtype=object))
    assert pd.Series(col).equals(expected) and pd.Series(col).dtype == expected.dtype


def test_text_column_parts():
    texts = np.array(["p", "q"], dtype=object)
    col = _text_column(["x", (np.array([1, 1, 0]), texts), np.array(["r", "x"], dtype=object)], [2, 3, 2])
    assert pd.Series(col).tolist() == ["x", "x", "q", "q", "p", "r", "x"]
    assert pd.Series(col).dtype == pd.Series(np.array(["x"], dtype=object)).dtype


def test_text_column_not_all_text_is_the_values_concatenated():
    col = _text_column(["x", np.array([1, True, None], dtype=object)], [1, 3])
    assert isinstance(col, np.ndarray) and col.dtype == object
    assert [type(v) for v in col] == [str, int, bool, type(None)]
    assert col[:3].tolist() == ["x", 1, True]


def test_by_rank_orders_by_rank_then_key_stable():
    rank = pd.Series([2, 1, 2], index=pd.Index(["a", "b", "c"], name="branch_id"))
    f = pd.DataFrame({"branch_id": ["a", "c", "b", "a", "c", "b"], "order": [1, 0, 1, 0, 0, 0],
                      "v": [0, 1, 2, 3, 4, 5]})
    # rank 1 (b): order 0 (v5), order 1 (v2); rank 2 (a, c tied): order 0 as they came (v1, v3, v4), order 1 (v0)
    assert _by_rank(f, rank, "order")["v"].tolist() == [5, 2, 1, 3, 4, 0]
    g = f.assign(claim=["k", "j", "j", "i", "i", "k"])  # a text key: the pandas sort, same meaning
    assert _by_rank(g, rank, "claim")["v"].tolist() == [2, 5, 3, 4, 1, 0]
    assert _by_rank(f, rank, "order").index.tolist() == list(range(6))
