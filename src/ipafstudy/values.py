"""One home for two questions every layer asks: is this value missing, and what is it in JSON.

A leaf module (standard library only): numpy and pandas values are recognised through
``sys.modules``, because a numpy or pandas object can only exist once that library is imported.
So every layer can use it without paying for those imports (``ipafstudy --help`` stays fast).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["is_missing", "jsonable"]


def is_missing(value: object) -> bool:
    """True for what a blank cell becomes: None, NaN (any float type), pd.NA, pd.NaT, numpy NaT.

    Text is never missing here (an empty string is a value; callers that treat blank text as
    missing say so). Containers are not missing either.

    >>> [is_missing(v) for v in (None, float("nan"), 0, "", "NA", [])]
    [True, True, False, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, (str, bytes, bool, int)):
        return False
    if isinstance(value, float):
        return math.isnan(value)
    if type(value).__name__ in ("NAType", "NaTType"):
        return True
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, (np.floating, np.datetime64, np.timedelta64)):
        return bool(np.isnat(value)) if isinstance(value, (np.datetime64, np.timedelta64)) else bool(np.isnan(value))
    try:  # other NaN-like numbers (Decimal("NaN")) are the values not equal to themselves
        return (value != value) is True
    except Exception:  # a value that cannot compare with itself is not missing
        return False


def jsonable(value: Any) -> Any:
    """Plain JSON types, deterministic, safe for ``json.dumps(..., allow_nan=False)``.

    - missing values (see :func:`is_missing`) and infinities become None;
    - numpy scalars become Python numbers, arrays become lists;
    - dates and times become ISO text;
    - a table (pandas DataFrame) becomes ``{"columns": [...], "records": [{...}, ...]}``, with its
      index as the first column unless it is the default 0..n-1 index; a Series becomes a dict;
    - objects with ``to_dict()`` and dataclasses become dicts; mappings get text keys;
    - sets become lists sorted by their JSON form; anything else becomes its text.

    >>> jsonable({"p": float("nan"), "n": 3, "when": dt.date(2024, 1, 31), "ids": {"b", "a"}})
    {'p': None, 'n': 3, 'when': '2024-01-31', 'ids': ['a', 'b']}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    pd = sys.modules.get("pandas")
    if pd is not None:
        if isinstance(value, pd.DataFrame):
            return _frame(value, pd)
        if isinstance(value, pd.Series):
            return {str(k): jsonable(v) for k, v in value.items()}
    if is_missing(value):
        return None
    if isinstance(value, (dt.date, dt.time)):  # datetime and pd.Timestamp are dates
        return value.isoformat()
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.ndarray):
            return [jsonable(v) for v in value.tolist()]
        if isinstance(value, np.generic):
            return jsonable(value.item())
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (list, tuple, range)):
        return [jsonable(v) for v in value]
    return str(value)


def _frame(frame: Any, pd: Any) -> dict[str, Any]:
    """A DataFrame as columns + records (the one table shape in every JSON output)."""
    index = frame.index
    plain = isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0 and index.step == 1
    table = frame if plain else frame.reset_index()
    columns = [str(c) for c in table.columns]
    rows = table.itertuples(index=False, name=None)
    records = [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return {"columns": columns, "records": records}
