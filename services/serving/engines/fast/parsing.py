"""Request bodies → the float64 matrix MLflow would hand the model, without pandas.

For a model whose signature is all-``double`` named columns, MLflow parses a request into a
DataFrame, casts it to the schema and lets the flavor turn it into a numpy array. These
functions build that array directly — same values, same column order, same memory layout
(Fortran order: what ``DataFrame.to_numpy()`` returns, and the layout changes BLAS summation
order, hence the last bits of a prediction) — for the plain cases: numbers only, exactly the
schema's columns. Anything else returns None and the request takes MLflow's own path, which
then decides between a lenient conversion (MLflow accepts "12.8" and true for doubles) and
its error message. Returning None is always correct; returning an array must be exact.
"""

from __future__ import annotations

import json
from io import StringIO

import numpy as np

# Literals json.loads accepts that must not reach the fast path: booleans (numpy would cast
# them to 1.0/0.0 silently — MLflow does too, but through its own path), nulls, non-finite.
# A column name containing one of these only costs that model the fast path.
_NON_NUMBER_TOKENS = (b"true", b"false", b"null", b"NaN", b"Infinity")
_SPLIT_KEYS = frozenset({"columns", "data", "index"})
_SPLIT_END = b"}}"
MAX_SPLIT_HEADS = 8  # distinct request heads remembered per model (clients send one or two)
# Below this many bytes and without an exponent, no JSON number overflows a double (that takes
# 309 digits), so the matrix needs no finiteness check.
_SHORT_NUMBERS = 300
_PLAIN_ROW_BYTES = b"0123456789.-,[] \t\n\r"


class NumericColumns:
    """The named all-double input columns of a signature, and how to order them.

    It also remembers ``dataframe_split`` request heads: a client sends the same
    ``{"dataframe_split": {"columns": [...], "data": `` before every request's rows, and once
    such a head has been parsed and checked (:func:`_learn_split_head`), only the rows after
    it are parsed — the same ``json.loads`` on the same bytes, minus the column names.
    """

    __slots__ = ("names", "name_set", "position", "split_heads")

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.name_set = frozenset(names)
        self.position = {name: i for i, name in enumerate(names)}
        # head bytes -> column order of the rows after it (None: the signature's order)
        self.split_heads: dict[bytes, list[int] | None] = {}

    @classmethod
    def from_schema(cls, schema) -> NumericColumns | None:
        """The columns if every input is a required, named ``double`` column; else None."""
        from mlflow.types import ColSpec, DataType

        if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
            return None
        specs = schema.inputs
        if not specs or not all(isinstance(s, ColSpec) and s.type == DataType.double
                                and s.required for s in specs):
            return None
        names = tuple(s.name for s in specs)
        return cls(names) if len(set(names)) == len(names) else None


def _matrix(rows, may_overflow: bool = True) -> np.ndarray | None:
    try:
        arr = np.array(rows)
    except (ValueError, TypeError):  # ragged rows
        return None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.dtype.kind not in "fi":
        return None  # strings, objects (None, dicts, ints beyond int64), empty
    if arr.dtype.kind == "i":
        arr = arr.astype(np.float64)
    elif may_overflow and not np.isfinite(arr).all():  # 1e400 parses to inf
        return None
    return arr


def _records_rows(records, columns: NumericColumns):
    if not isinstance(records, list) or not records:
        return None
    names, name_set = columns.names, columns.name_set
    rows = []
    for record in records:
        if type(record) is not dict or record.keys() != name_set:
            return None
        rows.append([record[n] for n in names])
    return rows


def _split_rows(split, columns: NumericColumns):
    if type(split) is not dict or not split.keys() <= _SPLIT_KEYS:
        return None
    cols, data = split.get("columns"), split.get("data")
    if type(cols) is not list or type(data) is not list or len(cols) != len(columns.names):
        return None
    if "index" in split and not _flat_index(split["index"], len(data)):
        return None  # pandas decides what a nested or mis-sized index means
    if tuple(cols) == columns.names:
        return data, None
    if set(cols) != columns.name_set or len(set(cols)) != len(cols):
        return None
    return data, [cols.index(n) for n in columns.names]


def _flat_index(index, n_rows: int) -> bool:
    """An index pandas takes as is: one str/int label per row (``to_dict(orient="split")``)."""
    return type(index) is list and len(index) == n_rows and all(
        type(label) is int or type(label) is str for label in index)


def parse_json(body: bytes, columns: NumericColumns) -> np.ndarray | None:
    """``dataframe_split`` / ``dataframe_records`` / ``instances`` / ``inputs`` → matrix."""
    if body.endswith(_SPLIT_END):
        for head, order in columns.split_heads.items():
            if body.startswith(head):
                arr = _split_after_head(body[len(head):-2], columns, order)
                if arr is not _NOT_ROWS:
                    return arr
                break  # not rows alone after the head: the full parse decides
    for token in _NON_NUMBER_TOKENS:
        if token in body:
            return None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if type(payload) is not dict or len(payload) != 1:
        return None  # params, several format keys, wrong shape: MLflow decides
    (key, value), = payload.items()
    order = None
    if key == "dataframe_split":
        split = _split_rows(value, columns)
        if split is None:
            return None
        rows, order = split
        arr = _finish(_matrix(rows), columns, order)
        if arr is not None and len(columns.split_heads) < MAX_SPLIT_HEADS:
            _learn_split_head(body, value, columns, order)
        return arr
    elif key in ("dataframe_records", "instances", "inputs"):
        if key == "inputs" and type(value) is dict:
            return _columnar(value, columns)
        rows = _records_rows(value, columns)
    else:
        return None
    if rows is None:
        return None
    return _finish(_matrix(rows), columns, order)


def _finish(arr: np.ndarray | None, columns: NumericColumns, order) -> np.ndarray | None:
    """The parsed rows in the signature's column order and MLflow's memory layout."""
    if arr is None or arr.shape[1] != len(columns.names):
        return None
    if order is not None:
        arr = arr[:, order]
    return np.asfortranarray(arr)


_NOT_ROWS = object()
_scan_value = json.JSONDecoder().scan_once  # the C scanner json.loads runs


def _split_after_head(data: bytes, columns: NumericColumns, order):
    """The rows of a request whose head is a remembered one: ``data`` is what follows it, up
    to the closing ``}}``. When ``data`` is one JSON value, a full parse of the whole body gives
    the same rows (the head was checked to parse to exactly these columns, whatever value
    follows it), so the same checks apply to them. ``_NOT_ROWS`` when it is not one value
    (e.g. ``[[...]], "index": [0]``)."""
    # Rows of plain decimals (digits, signs, points, separators) hold no literal and no
    # exponent: one pass over the bytes answers both questions below.
    plain = not data.translate(None, _PLAIN_ROW_BYTES)
    if not plain:
        for token in _NON_NUMBER_TOKENS:
            if token in data:
                return None
    try:
        # utf-8, as json.loads decodes a whole body that starts with `{"`; json.loads' own
        # scanner, minus its whitespace regexes (a body from json.dumps has none around rows).
        text = data.decode("utf-8")
        rows, end = _scan_value(text, 0)
    except (StopIteration, ValueError, UnicodeDecodeError):
        return _NOT_ROWS
    if end != len(text):  # whitespace or more after the rows: json.loads decides
        try:
            rows = json.loads(text)
        except ValueError:
            return _NOT_ROWS
    if type(rows) is not list:
        return None
    may_overflow = not plain or len(data) >= _SHORT_NUMBERS
    return _finish(_matrix(rows, may_overflow), columns, order)


def _learn_split_head(body: bytes, split: dict, columns: NumericColumns, order) -> None:
    """Remember the bytes before this request's rows, if they parse to nothing but its columns.

    The rows are numbers only (no quote), so the last ``"data"`` in the body is the key; the
    head runs to the first byte of its value and the body must end right after it with
    ``}}``. JSON's grammar does not look back: if the head followed by ``0}}`` parses to
    ``{"dataframe_split": {"columns": <these columns>, "data": 0}}``, then the head followed by
    any value ``V`` and ``}}`` parses to the same with ``"data": V``.
    """
    if list(split) != ["columns", "data"] or not body.endswith(_SPLIT_END):
        return
    key = body.rfind(b'"data"')
    if key < 0:
        return
    start = key + len(b'"data"')
    rest = body[start:].lstrip()
    if not rest.startswith(b":"):
        return
    start = len(body) - len(rest.lstrip(b":").lstrip())
    if body[start - 1:start] not in (b":", b" ", b"\t", b"\n", b"\r"):
        return
    head = body[:start]
    try:
        probe = json.loads(head + b"0" + _SPLIT_END)
    except (ValueError, UnicodeDecodeError):
        return
    if probe == {"dataframe_split": {"columns": split["columns"], "data": 0}}:
        columns.split_heads[head] = order


def _columnar(value: dict, columns: NumericColumns) -> np.ndarray | None:
    """``{"inputs": {"col": [v, ...], ...}}``: one list per column, all the same length."""
    if value.keys() != columns.name_set:
        return None
    cols = [value[n] for n in columns.names]
    if not all(type(c) is list for c in cols):
        return None
    arr = _matrix(cols)
    if arr is None or arr.shape[1] == 0:
        return None
    # Built column-major already: the transpose of a C-ordered (cols, rows) array is the
    # Fortran-ordered (rows, cols) one.
    return arr.T


def parse_csv(body: bytes, columns: NumericColumns) -> np.ndarray | None:
    """CSV with a header naming exactly the schema's columns, parsed by pandas as MLflow does.

    The parse stays pandas' (its float parser is not Python's, and the last bit must match);
    what is skipped is MLflow's schema enforcement and DataFrame plumbing after it.
    """
    import pandas as pd

    try:
        text = body.decode("utf-8")
        frame = pd.read_csv(StringIO(text), dtype=dict.fromkeys(columns.names, np.float64))
    except Exception:  # noqa: BLE001 — MLflow's path reports the parse error
        return None
    if len(frame) == 0 or len(frame.columns) != len(columns.names) \
            or set(frame.columns) != columns.name_set:
        return None
    arr = frame[list(columns.names)].to_numpy(dtype=np.float64)
    if not np.isfinite(arr).all():
        return None
    return np.asfortranarray(arr)
