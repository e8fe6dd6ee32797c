"""Spearman rank correlation with SPSS's t-approximation p, singly and as a matrix.

Pairwise complete cases (n per cell reported); an optional Holm/BH adjustment is added
beside the raw p, never in its place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ipafstudy.conventions import ADJUST_METHODS, DEFAULT_TIE_DECIMALS
from ipafstudy.errors import DataValidationError, check_option
from ipafstudy.stats._base import ResultMixin, as_float_series, tie_values
from ipafstudy.stats.pvalues import adjust_p, significance_stars


@dataclass(frozen=True, slots=True)
class SpearmanResult(ResultMixin):
    """rho, two-sided p (t with n - 2 df), n complete pairs; NaN with ``reason`` when undefined."""

    rho: float
    p: float
    n: int
    n_excluded: int
    method: str = "t-approximation, n - 2 df (SPSS; R cor.test(method='spearman', exact=FALSE))"
    reason: str = ""
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS


def _spearman_arrays(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int, str]:
    """rho and p of two arrays already on the tie grid (see ``tie_values``)."""
    ok = ~(np.isnan(x) | np.isnan(y))
    xs, ys = x[ok], y[ok]
    n = int(xs.size)
    if n < 3:
        return math.nan, math.nan, n, f"needs at least 3 complete pairs (got {n})"
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return math.nan, math.nan, n, "one variable is constant over the complete pairs"
    rx = sps.rankdata(xs, method="average")
    ry = sps.rankdata(ys, method="average")
    rho = float(np.corrcoef(rx, ry)[0, 1])
    rho = max(-1.0, min(1.0, rho))
    if abs(rho) == 1.0:
        return rho, 0.0, n, ""
    t = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
    p = float(2.0 * sps.t.sf(abs(t), n - 2))
    return rho, p, n, ""


def _paired_frame(x: Any, y: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(x, pd.Series) and isinstance(y, pd.Series):
        xs = as_float_series(x, caller=caller, name="x")
        ys = as_float_series(y, caller=caller, name="y")
        if xs.index.has_duplicates or ys.index.has_duplicates:
            raise DataValidationError(None, f"{caller}(): x and y must not have duplicated ids in their index")
        joined = pd.concat([xs.rename("x"), ys.rename("y")], axis=1, join="outer", sort=True)
        return joined["x"].to_numpy(dtype=float), joined["y"].to_numpy(dtype=float)
    xa = as_float_series(x, caller=caller, name="x").to_numpy(dtype=float)
    ya = as_float_series(y, caller=caller, name="y").to_numpy(dtype=float)
    if xa.size != ya.size:
        raise DataValidationError(None, f"{caller}(): x has {xa.size} values but y has {ya.size}")
    return xa, ya


def spearman(x: Any, y: Any, *, tie_decimals: int | None = DEFAULT_TIE_DECIMALS) -> SpearmanResult:
    """Spearman rho (average ranks) with p = 2 P(T_{n-2} > |rho| sqrt((n-2)/(1-rho^2))).

    Series are aligned by index; arrays by position. |rho| = 1 gives p = 0; n < 3 or a constant
    variable gives NaN with a reason.

    >>> round(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).rho, 6)
    0.8
    """
    xa, ya = _paired_frame(x, y, "spearman")
    rho, p, n, reason = _spearman_arrays(
        tie_values(xa, tie_decimals, caller="spearman"), tie_values(ya, tie_decimals, caller="spearman")
    )
    return SpearmanResult(rho, p, n, int(xa.size - n), reason=reason, tie_decimals=tie_decimals)


@dataclass(frozen=True, slots=True)
class SpearmanMatrixResult(ResultMixin):
    """Square rho, p and n frames; ``p_adjusted`` (upper-triangle family) when ``adjust`` was given."""

    rho: pd.DataFrame
    p: pd.DataFrame
    n: pd.DataFrame
    p_adjusted: pd.DataFrame | None
    adjust: str | None
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS

    def to_long(self) -> pd.DataFrame:
        """One row per pair (var1 before var2 in column order): rho, p, n, p_adjusted, stars.

        ``stars`` come from the raw p (as the study's figure); ``stars_adjusted`` from the adjusted p.
        """
        names = list(self.rho.columns)
        rows = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                p = float(self.p.loc[a, b])
                p_adj = float(self.p_adjusted.loc[a, b]) if self.p_adjusted is not None else math.nan
                rows.append(
                    {
                        "var1": a,
                        "var2": b,
                        "rho": float(self.rho.loc[a, b]),
                        "p": p,
                        "n": int(self.n.loc[a, b]),
                        "p_adjusted": p_adj,
                        "stars": significance_stars(p),
                        "stars_adjusted": significance_stars(p_adj),
                    }
                )
        columns = ["var1", "var2", "rho", "p", "n", "p_adjusted", "stars", "stars_adjusted"]
        return pd.DataFrame(rows, columns=columns)


def spearman_matrix(
    frame: pd.DataFrame, *, adjust: str | None = None, tie_decimals: int | None = DEFAULT_TIE_DECIMALS
) -> SpearmanMatrixResult:
    """Spearman rho for every pair of columns (pairwise complete cases).

    ``adjust`` None (default), ``"holm"`` or ``"bh"`` adjusts the p-values of the distinct
    off-diagonal pairs as one family; the raw p are always kept. Diagonal: rho = 1, p = NaN.

    >>> import pandas as pd
    >>> res = spearman_matrix(pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]}), adjust="holm")
    >>> res.to_long()[["var1", "var2", "rho"]].round(6).values.tolist()
    [['a', 'b', 0.8]]
    """
    caller = "spearman_matrix"
    check_option(caller, "adjust", adjust, (None, *ADJUST_METHODS))
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(None, f"{caller}(): frame must be a pandas DataFrame (one column per variable)")
    if frame.columns.has_duplicates:
        dups = list(frame.columns[frame.columns.duplicated()])
        raise DataValidationError(None, f"{caller}(): duplicated column names {dups}")
    names = list(frame.columns)
    data = {
        c: tie_values(as_float_series(frame[c], caller=caller, name=f"column {c!r}").to_numpy(dtype=float),
                      tie_decimals, caller=caller)
        for c in names
    }
    k = len(names)
    rho = np.eye(k)
    p = np.full((k, k), np.nan)
    n = np.zeros((k, k), dtype=int)
    for i, a in enumerate(names):
        n[i, i] = int((~np.isnan(data[a])).sum())
        for j in range(i + 1, k):
            r_ij, p_ij, n_ij, _ = _spearman_arrays(data[a], data[names[j]])
            rho[i, j] = rho[j, i] = r_ij
            p[i, j] = p[j, i] = p_ij
            n[i, j] = n[j, i] = n_ij
    rho_df = pd.DataFrame(rho, index=names, columns=names)
    p_df = pd.DataFrame(p, index=names, columns=names)
    n_df = pd.DataFrame(n, index=names, columns=names)
    p_adj_df = None
    if adjust is not None:
        iu = np.triu_indices(k, 1)
        adj = np.full((k, k), np.nan)
        values = adjust_p(p[iu], method=adjust)
        adj[iu] = values
        adj[(iu[1], iu[0])] = values
        p_adj_df = pd.DataFrame(adj, index=names, columns=names)
    return SpearmanMatrixResult(rho_df, p_df, n_df, p_adj_df, adjust, tie_decimals)
