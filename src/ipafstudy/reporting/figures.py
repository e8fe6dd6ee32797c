"""Publication figures drawn from numbers computed elsewhere (box plots, heatmap, flow diagram).

Nothing here computes a statistic: box plots are drawn from the quartiles and whisker ends the
analysis hands over (so the drawn box always matches the table's quartile method), the heatmap
shows the rho and p it is given, and the flow diagram prints the counts it is given. Figures are
built on ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state), and saved with fixed
metadata and SVG hash salt so two runs give byte-identical files.

Every drawn element that tests or users may want to find carries a ``gid``:
``box:<outcome>:<timepoint>``, ``median:<outcome>:<timepoint>``, ``sig:<outcome>``,
``cell:<row>:<col>``, ``flow:step:<i>``, ``flow:excluded:<i>``.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ipafstudy.conventions import DEFAULT_WHISKER_RULE, WhiskerRule
from ipafstudy.errors import InvalidOptionError, check_option
from ipafstudy.fileio import atomic_write_bytes
from ipafstudy.reporting.format import (
    STARS_LEGEND,
    JournalStyle,
    fmt_number,
    fmt_p,
    get_style,
    print_style,
    significance_stars,
)
from ipafstudy.values import is_missing

BOX_STAT_COLUMNS: tuple[str, ...] = ("outcome", "timepoint", "q1", "median", "q3", "whisker_low", "whisker_high")
DATA_COLUMNS: tuple[str, ...] = ("patient_id", "outcome", "timepoint", "value")

#: Okabe-Ito colours (colour-blind safe): blue for the first time point, vermillion for the second.
OKABE_ITO = {"blue": "#0072B2", "vermillion": "#D55E00", "orange": "#E69F00", "sky": "#56B4E9",
             "green": "#009E73", "yellow": "#F0E442", "purple": "#CC79A7", "grey": "#999999"}
PAIR_COLOURS: tuple[str, str] = (OKABE_ITO["blue"], OKABE_ITO["vermillion"])
SVG_HASH_SALT = "ipafstudy"

QUARTILE_METHOD_TEXT = {
    "spss": "SPSS weighted average, Hyndman-Fan type 6",
    "r7": "R default, Hyndman-Fan type 7",
    "tukey": "Tukey hinges",
}


def _rc(style: JournalStyle) -> dict[str, object]:
    """rcParams for building a figure: every look-related default set explicitly."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [style.font_family, "DejaVu Sans"],
        "font.size": style.font_size,
        "axes.titlesize": style.font_size + 1,
        "axes.labelsize": style.font_size,
        "xtick.labelsize": style.font_size,
        "ytick.labelsize": style.font_size - 0.5,
        "axes.linewidth": 0.8,
        "xtick.major.width": 0.8,
        "ytick.major.width": 0.8,
        "xtick.major.size": 3,
        "ytick.major.size": 3,
        "lines.linewidth": 1.0,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "axes.unicode_minus": True,
        "svg.hashsalt": SVG_HASH_SALT,
    }


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def box_caption(*, whiskers: WhiskerRule = DEFAULT_WHISKER_RULE, quartile_method: str | None = None,
                show_points: bool = True, paired_lines: bool = True) -> str:
    """Caption sentence describing what the boxes, whiskers, dots and lines show (for the legend)."""
    check_option("box_caption", "whiskers", whiskers, ("minmax", "tukey"))
    if quartile_method is not None:
        check_option("box_caption", "quartile_method", quartile_method, QUARTILE_METHOD_TEXT)
    quart = f" ({QUARTILE_METHOD_TEXT[quartile_method]})" if quartile_method else ""
    whisk = ("whiskers extend from the minimum to the maximum" if whiskers == "minmax"
             else "whiskers extend to the most extreme values within 1.5 × IQR of the box (Tukey)")
    parts = [f"Boxes show the median and interquartile range{quart}; {whisk}."]
    if show_points:
        parts.append("Dots are individual patients" + (", lines join each patient's paired values." if paired_lines
                                                       else "."))
    parts.append(f"Significance: {STARS_LEGEND}; ns, not significant.")
    return " ".join(parts)


def _check_box_stats(box_stats: pd.DataFrame, outcomes: Sequence[str], timepoints: Sequence[str]
                     ) -> dict[tuple[str, str], dict[str, float]]:
    missing_cols = [c for c in BOX_STAT_COLUMNS if c not in box_stats.columns]
    if missing_cols:
        raise ValueError(
            f"paired_boxplots(): box_stats lacks columns {missing_cols}; expected {list(BOX_STAT_COLUMNS)}"
        )
    found: dict[tuple[str, str], dict[str, float]] = {}
    for idx, rec in box_stats.iterrows():
        key = (str(rec["outcome"]), str(rec["timepoint"]))
        if key in found:
            raise ValueError(f"paired_boxplots(): box_stats has two rows for outcome {key[0]!r}, timepoint {key[1]!r}")
        vals = {c: float(rec[c]) for c in ("q1", "median", "q3", "whisker_low", "whisker_high")}
        if any(math.isnan(v) for v in vals.values()):
            raise ValueError(f"paired_boxplots(): box_stats row {idx} ({key[0]}, {key[1]}) has a missing value: {vals}")
        if not vals["whisker_low"] <= vals["q1"] <= vals["median"] <= vals["q3"] <= vals["whisker_high"]:
            raise ValueError(
                f"paired_boxplots(): box_stats row {idx} ({key[0]}, {key[1]}) is not ordered whisker_low <= q1 <= "
                f"median <= q3 <= whisker_high: {vals}"
            )
        found[key] = vals
    absent = [(o, t) for o in outcomes for t in timepoints if (o, t) not in found]
    if absent:
        raise ValueError(f"paired_boxplots(): box_stats has no row for (outcome, timepoint) {absent}")
    return found


def _swarm_offsets(values: np.ndarray, *, bin_size: float, half_width: float, step: float) -> np.ndarray:
    """Deterministic horizontal offsets: values in the same y bin are spread symmetrically (no randomness)."""
    offsets = np.zeros(len(values))
    if len(values) == 0 or bin_size <= 0:
        return offsets
    bins = np.floor(values / bin_size).astype(np.int64)
    order = np.lexsort((np.arange(len(values)), values))  # stable: by value, then input order
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(int(bins[i]), []).append(int(i))
    for members in groups.values():
        m = len(members)
        spacing = min(step, 2 * half_width / max(m - 1, 1))
        for k, i in enumerate(members):
            offsets[i] = (k - (m - 1) / 2) * spacing
    return offsets


def paired_boxplots(
    data: pd.DataFrame,
    outcomes: Sequence[str],
    labels: Mapping[str, str] | None = None,
    p_values: Mapping[str, float | None] | None = None,
    *,
    box_stats: pd.DataFrame,
    timepoints: tuple[str, str] = ("baseline", "follow_up"),
    timepoint_labels: tuple[str, str] = ("Pre", "Post"),
    whiskers: WhiskerRule = DEFAULT_WHISKER_RULE,
    quartile_method: str | None = None,
    show_points: bool = True,
    paired_lines: bool = True,
    annotate: Literal["stars", "p", "both", "none"] = "stars",
    ylabels: Mapping[str, str] | None = None,
    ncols: int = 4,
    colours: tuple[str, str] = PAIR_COLOURS,
    style: str | JournalStyle | None = None,
) -> Figure:
    """Grid of small Pre/Post box-plot panels (Prism-like), one per outcome, with significance marks.

    Parameters
    ----------
    data : long table ``[patient_id, outcome, timepoint, value]``; used only for dots and paired
        lines (missing values are skipped; lines join a patient's two values when both exist).
    outcomes : panel order. ``labels`` maps outcome -> panel title (default: the outcome key).
    p_values : outcome -> p of the paired test; drawn as stars (``annotate="stars"``), as the
        formatted p (``"p"``), both, or not at all. A missing p draws nothing.
    box_stats : ``[outcome, timepoint, q1, median, q3, whisker_low, whisker_high]``, one row per
        panel box, computed by the analysis with the table's quartile method. Drawn as given.
    whiskers : what the given whisker ends mean ("minmax": Prism default; "tukey": 1.5 x IQR).
        With "minmax", dots outside the whiskers mean the stats do not belong to the data and
        raise; with "tukey" dots beyond the whiskers are drawn as outliers even if
        ``show_points=False``.
    quartile_method : accepted for symmetry with :func:`box_caption` (call it with the same
        values to get the legend sentence); nothing is recomputed from it.
    """
    st = get_style(style)
    check_option("paired_boxplots", "whiskers", whiskers, ("minmax", "tukey"))
    check_option("paired_boxplots", "annotate", annotate, ("stars", "p", "both", "none"))
    if quartile_method is not None:
        check_option("paired_boxplots", "quartile_method", quartile_method, QUARTILE_METHOD_TEXT)
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("paired_boxplots(): no outcomes given")
    if len(set(outcomes)) != len(outcomes):
        raise ValueError(f"paired_boxplots(): outcomes repeated: {outcomes}")
    if len(timepoints) != 2 or len(timepoint_labels) != 2 or timepoints[0] == timepoints[1]:
        raise ValueError(f"paired_boxplots(): need two distinct timepoints and two labels, got {timepoints}, "
                         f"{timepoint_labels}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise InvalidOptionError(f"paired_boxplots(): ncols={ncols!r} must be a positive integer")
    missing_cols = [c for c in DATA_COLUMNS if c not in data.columns]
    if missing_cols:
        raise ValueError(f"paired_boxplots(): data lacks columns {missing_cols}; expected {list(DATA_COLUMNS)}")
    stats = _check_box_stats(box_stats, outcomes, timepoints)
    labels = dict(labels or {})
    ylabels = dict(ylabels or {})
    p_values = dict(p_values or {})

    sub = data.loc[data["outcome"].astype(str).isin(outcomes) & data["timepoint"].astype(str).isin(timepoints),
                   list(DATA_COLUMNS)].copy()
    sub["outcome"] = sub["outcome"].astype(str)
    sub["timepoint"] = sub["timepoint"].astype(str)
    dupes = sub.duplicated(["patient_id", "outcome", "timepoint"], keep=False)
    if dupes.any():
        first = sub.loc[dupes].iloc[0]
        raise ValueError(
            f"paired_boxplots(): patient {first['patient_id']!r} has more than one {first['outcome']!r} value at "
            f"{first['timepoint']!r}; give one value per patient, outcome and time point"
        )
    sub["value"] = pd.to_numeric(sub["value"], errors="raise").astype(float)

    n = len(outcomes)
    ncols_used = min(ncols, n)
    nrows = math.ceil(n / ncols_used)
    panel_w = st.figure_width_in / ncols_used if ncols_used > 1 else min(2.2, st.figure_width_in)
    panel_w = min(panel_w, 2.2)
    width = panel_w * ncols_used
    height = nrows * panel_w * 1.3
    with mpl.rc_context(_rc(st)):
        fig = _new_figure(width, height)
        axes = fig.subplots(nrows, ncols_used, squeeze=False)
        for k, outcome in enumerate(outcomes):
            ax = axes[k // ncols_used][k % ncols_used]
            _draw_pair_panel(
                ax, outcome, sub.loc[sub["outcome"] == outcome], stats, timepoints, timepoint_labels,
                whiskers=whiskers, show_points=show_points, paired_lines=paired_lines, colours=colours,
                annotate=annotate, p=p_values.get(outcome), style=st,
            )
            ax.set_title(labels.get(outcome, outcome), fontweight="bold", pad=4)
            if outcome in ylabels:
                ax.set_ylabel(ylabels[outcome])
        for k in range(n, nrows * ncols_used):
            axes[k // ncols_used][k % ncols_used].set_axis_off()
        fig.tight_layout(pad=0.4, w_pad=0.8, h_pad=1.0)
    return fig


def _draw_pair_panel(ax, outcome: str, panel: pd.DataFrame, stats, timepoints, timepoint_labels, *, whiskers,
                     show_points, paired_lines, colours, annotate, p, style: JournalStyle) -> None:
    positions = (0.0, 1.0)
    given = [stats[(outcome, t)] for t in timepoints]
    values = {t: panel.loc[(panel["timepoint"] == t) & panel["value"].notna()].set_index("patient_id")["value"]
              for t in timepoints}
    if whiskers == "minmax":
        for t, s in zip(timepoints, given, strict=True):
            v = values[t]
            tol = 1e-9 * max(1.0, abs(s["whisker_high"]), abs(s["whisker_low"]))
            if len(v) and (v.min() < s["whisker_low"] - tol or v.max() > s["whisker_high"] + tol):
                raise ValueError(
                    f"paired_boxplots(): outcome {outcome!r} at {t!r} has values from {v.min():g} to {v.max():g} but "
                    f"whiskers='minmax' was given whisker ends {s['whisker_low']:g} to {s['whisker_high']:g}; the box "
                    "statistics do not belong to these data"
                )
    all_vals = [x for t in timepoints for x in values[t].tolist()]
    lo = min([s["whisker_low"] for s in given] + all_vals)
    hi = max([s["whisker_high"] for s in given] + all_vals)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)

    bxp = [
        {"med": s["median"], "q1": s["q1"], "q3": s["q3"], "whislo": s["whisker_low"], "whishi": s["whisker_high"],
         "fliers": np.array([]), "label": lab}
        for s, lab in zip(given, timepoint_labels, strict=True)
    ]
    art = ax.bxp(bxp, positions=list(positions), widths=0.5, patch_artist=True, showfliers=False, showcaps=True,
                 showbox=True, showmeans=False, manage_ticks=False, zorder=2,
                 boxprops={"linewidth": 1.0}, medianprops={"linewidth": 1.6, "color": "black"},
                 whiskerprops={"linewidth": 1.0}, capprops={"linewidth": 1.0})
    for i, (box, colour) in enumerate(zip(art["boxes"], colours, strict=True)):
        box.set_facecolor(mpl.colors.to_rgba(colour, 0.22))
        box.set_edgecolor(colour)
        box.set_gid(f"box:{outcome}:{timepoints[i]}")
        art["medians"][i].set_gid(f"median:{outcome}:{timepoints[i]}")
        for line in art["whiskers"][2 * i:2 * i + 2] + art["caps"][2 * i:2 * i + 2]:
            line.set_color(colour)

    xy: dict[str, dict[object, tuple[float, float]]] = {}
    for i, t in enumerate(timepoints):
        v = values[t]
        offs = _swarm_offsets(v.to_numpy(), bin_size=span / 45, half_width=0.17, step=0.045)
        xy[t] = {pid: (positions[i] + off, val) for pid, off, val in zip(v.index, offs, v.to_numpy(), strict=True)}
    if show_points and paired_lines:
        shared = [pid for pid in xy[timepoints[0]] if pid in xy[timepoints[1]]]
        for pid in shared:
            (x0, y0), (x1, y1) = xy[timepoints[0]][pid], xy[timepoints[1]][pid]
            ax.plot([x0, x1], [y0, y1], color="#7f7f7f", alpha=0.35, linewidth=0.5, zorder=1)
    for i, t in enumerate(timepoints):
        pts = list(xy[t].values())
        if not show_points:
            if whiskers != "tukey":
                continue
            s = given[i]
            pts = [(x, y) for x, y in pts if y < s["whisker_low"] or y > s["whisker_high"]]
        if pts:
            ax.scatter([x for x, _ in pts], [y for _, y in pts], s=7, color=colours[i], alpha=0.75, linewidths=0,
                       zorder=3)

    top = hi + 0.08 * span
    if annotate != "none" and not is_missing(p):
        stars = significance_stars(p)
        shown = fmt_p(p, style=style)
        ptext = f"p {shown[0]} {shown[1:]}" if shown.startswith(("<", ">")) else f"p = {shown}"
        text = {"stars": stars, "p": ptext, "both": f"{stars}\n{ptext}" if stars != "ns" else ptext}[annotate]
        ax.plot([positions[0], positions[0], positions[1], positions[1]],
                [top - 0.025 * span, top, top, top - 0.025 * span], color="black", linewidth=0.8, zorder=4)
        size = style.font_size + (1.5 if annotate == "stars" and stars != "ns" else -0.5)
        ax.text(0.5, top + 0.01 * span, text, ha="center", va="bottom", fontsize=size, gid=f"sig:{outcome}",
                linespacing=1.0)
    ax.set_xlim(-0.55, 1.55)
    ax.set_ylim(lo - 0.06 * span, hi + 0.26 * span)
    ax.set_xticks(list(positions), list(timepoint_labels))
    ax.tick_params(axis="x", length=0)


def correlation_heatmap(
    rho: pd.DataFrame,
    p: pd.DataFrame | None = None,
    labels: Mapping[str, str] | Sequence[str] | None = None,
    *,
    stars: bool = True,
    decimals: int | None = None,
    triangle: Literal["full", "lower"] = "full",
    cmap: str = "RdBu_r",
    colorbar_label: str = "Spearman's ρ",
    style: str | JournalStyle | None = None,
) -> Figure:
    """Diverging heatmap of a correlation matrix, rho printed in each cell with significance stars.

    ``rho`` and ``p`` are square DataFrames with identical index and columns (the analysis'
    variable keys, in display order). Colour scale is fixed to -1..1 (white at 0) with ``RdBu_r``
    (blue negative, red positive; colour-blind safe). The diagonal shows rho without stars.
    """
    st = get_style(style)
    check_option("correlation_heatmap", "triangle", triangle, ("full", "lower"))
    if not isinstance(rho, pd.DataFrame) or rho.shape[0] != rho.shape[1] or rho.shape[0] == 0:
        raise ValueError("correlation_heatmap(): rho must be a non-empty square DataFrame")
    if list(rho.index) != list(rho.columns):
        raise ValueError(f"correlation_heatmap(): rho index {list(rho.index)} and columns {list(rho.columns)} differ")
    values = rho.to_numpy(dtype=float)
    finite = values[~np.isnan(values)]
    if np.any(np.abs(finite) > 1 + 1e-12):
        raise ValueError("correlation_heatmap(): rho has values outside -1..1")
    pv = None
    if p is not None:
        if list(p.index) != list(rho.index) or list(p.columns) != list(rho.columns):
            raise ValueError("correlation_heatmap(): p must have the same index and columns as rho, in the same order")
        pv = p.to_numpy(dtype=float)
        pf = pv[~np.isnan(pv)]
        if np.any((pf < 0) | (pf > 1)):
            raise ValueError("correlation_heatmap(): p has values outside 0..1")
    keys = [str(k) for k in rho.index]
    if labels is None:
        names = keys
    elif isinstance(labels, Mapping):
        names = [labels.get(k, k) for k in keys]
    else:
        names = list(labels)
        if len(names) != len(keys):
            raise ValueError(f"correlation_heatmap(): {len(names)} labels for {len(keys)} variables")
    places = st.corr_decimals if decimals is None else decimals
    cell_style = print_style(st)  # typeset minus (as the colour bar's tick labels) and "—" for a missing rho
    k = len(keys)
    shown = np.ones((k, k), dtype=bool) if triangle == "full" else np.tril(np.ones((k, k), dtype=bool))
    masked = np.ma.masked_array(values, mask=~shown | np.isnan(values))
    colormap = mpl.colormaps[cmap].with_extremes(bad="white")

    cell = min(0.62, (st.figure_width_in - 1.6) / k)
    width = cell * k + 1.9
    height = cell * k + 1.3
    with mpl.rc_context(_rc(st)):
        fig = _new_figure(width, height)
        ax = fig.add_subplot(1, 1, 1)
        image = ax.imshow(masked, cmap=colormap, norm=Normalize(vmin=-1.0, vmax=1.0), aspect="equal",
                          interpolation="nearest")
        for i in range(k):
            for j in range(k):
                if not shown[i, j]:
                    continue
                r = values[i, j]
                text = fmt_number(r, places, style=cell_style)
                if stars and pv is not None and i != j:
                    text += significance_stars(pv[i, j], ns="")
                colour = "white" if not math.isnan(r) and abs(r) >= 0.6 else "black"
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=st.font_size - 0.5,
                        gid=f"cell:{keys[i]}:{keys[j]}")
        ax.set_xticks(range(k), names, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(k), names)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xticks(np.arange(-0.5, k, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, k, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.tick_params(which="minor", length=0)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, ticks=[-1, -0.5, 0, 0.5, 1])
        bar.set_label(colorbar_label)
        bar.outline.set_linewidth(0.5)
        fig.tight_layout(pad=0.4)
    return fig


def regression_diagnostics(
    fitted: Sequence[float],
    residuals: Sequence[float],
    standardized: Sequence[float],
    qq_theoretical: Sequence[float],
    *,
    outcome_label: str = "outcome",
    style: str | JournalStyle | None = None,
) -> Figure:
    """Two panels as R's ``plot(lm)`` 1 and 2: residuals against fitted values, and a normal Q-Q plot.

    Every coordinate comes from the regression result (fitted values, raw residuals, standardised
    residuals and their theoretical normal quantiles); the Q-Q reference line is the identity, which
    standardised residuals follow when they are normal. Points: ``gid`` ``resid:<i>`` and ``qq:<i>``.
    A case with leverage 1 has no standardised residual (NaN): it is drawn in the left panel only.
    """
    st = get_style(style)
    cols = [np.asarray(v, dtype=float) for v in (fitted, residuals, standardized, qq_theoretical)]
    n = cols[0].size
    if n == 0 or any(c.size != n for c in cols):
        raise ValueError(f"regression_diagnostics(): need four sequences of equal, non-zero length, got "
                         f"{[c.size for c in cols]}")
    if not (np.all(np.isfinite(cols[0])) and np.all(np.isfinite(cols[1]))):
        raise ValueError("regression_diagnostics(): fitted values and residuals must be finite numbers")
    x_fit, resid, std_resid, theo = cols
    if np.any(np.isnan(std_resid) != np.isnan(theo)):
        raise ValueError("regression_diagnostics(): a standardised residual and its normal quantile must both be "
                         "missing (a case with leverage 1) or both be numbers")
    on_qq = np.flatnonzero(~np.isnan(std_resid))
    if on_qq.size == 0:
        raise ValueError("regression_diagnostics(): no case has a standardised residual to draw")
    colour = OKABE_ITO["blue"]
    with mpl.rc_context(_rc(st)):
        fig = _new_figure(st.figure_width_in, st.figure_width_in * 0.45)
        left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        left.axhline(0.0, color=OKABE_ITO["grey"], linewidth=0.8, linestyle="--", zorder=1)
        for i in range(n):
            left.plot(x_fit[i], resid[i], "o", markersize=3.5, color=colour, alpha=0.8, gid=f"resid:{i}", zorder=2)
        for i in on_qq:
            right.plot(theo[i], std_resid[i], "o", markersize=3.5, color=colour, alpha=0.8, gid=f"qq:{i}", zorder=2)
        left.set_xlabel(f"Fitted value ({outcome_label})")
        left.set_ylabel("Residual")
        left.set_title("Residuals vs fitted", loc="left")
        low = float(min(theo[on_qq].min(), std_resid[on_qq].min()))
        high = float(max(theo[on_qq].max(), std_resid[on_qq].max()))
        right.plot([low, high], [low, high], color=OKABE_ITO["grey"], linewidth=0.8, linestyle="--", zorder=1)
        right.set_xlabel("Theoretical normal quantile")
        right.set_ylabel("Standardised residual")
        right.set_title("Normal Q-Q", loc="left")
        fig.tight_layout(pad=0.4)
    return fig


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One box of a STROBE-style flow diagram; ``n_removed``/``reason`` describe the step INTO it."""

    label: str
    n_remaining: int
    n_removed: int = 0
    reason: str = ""


def _as_step(item: object, i: int) -> FlowStep:
    if isinstance(item, FlowStep):
        step = item
    else:
        parts = tuple(item)  # type: ignore[call-overload]
        if not 2 <= len(parts) <= 4:
            raise ValueError(
                f"flow_diagram(): step {i} must be (label, n_remaining[, n_removed[, reason]]), got {item!r}"
            )
        step = FlowStep(*parts)
    for name in ("n_remaining", "n_removed"):
        v = getattr(step, name)
        if v is None and name == "n_removed":
            continue
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ValueError(f"flow_diagram(): step {i} ({step.label!r}): {name}={v!r} must be a non-negative integer")
    return step


def flow_diagram(
    steps: Sequence[FlowStep | tuple[object, ...]],
    *,
    check_arithmetic: bool = True,
    excluded_title: str = "Excluded",
    wrap: int = 42,
    style: str | JournalStyle | None = None,
) -> Figure:
    """STROBE-style participant flow: boxes top to bottom, exclusions in boxes to the right.

    Each step is ``(label, n_remaining, n_removed, reason)``; ``n_removed``/``reason`` describe
    who was removed between the previous box and this one (the first step must remove nobody).
    ``reason`` may hold several lines separated by "\\n" (e.g. one per exclusion reason). With
    ``check_arithmetic`` (default) every ``n_remaining`` must equal the previous one minus
    ``n_removed``, so the picture can never contradict itself.
    """
    st = get_style(style)
    parsed = [_as_step(s, i) for i, s in enumerate(steps)]
    if not parsed:
        raise ValueError("flow_diagram(): no steps given")
    if parsed[0].n_removed:
        raise ValueError(f"flow_diagram(): the first step ({parsed[0].label!r}) cannot remove anyone")
    if check_arithmetic:
        for prev, cur in itertools.pairwise(parsed):
            removed = cur.n_removed or 0
            if prev.n_remaining - removed != cur.n_remaining:
                raise ValueError(
                    f"flow_diagram(): {prev.label!r} has n = {prev.n_remaining}, {removed} removed, but "
                    f"{cur.label!r} has n = {cur.n_remaining} (expected {prev.n_remaining - removed}); pass "
                    "check_arithmetic=False if the steps count different units"
                )

    def wrapped(text: str, width: int) -> list[str]:
        out: list[str] = []
        for para in str(text).split("\n"):
            out.extend(textwrap.wrap(para, width=width, break_long_words=False, break_on_hyphens=False) or [""])
        return out

    line_h = st.font_size / 72 * 1.35
    pad = 0.14
    main_w, side_w, gap_x = 3.1, 2.7, 0.35
    main_lines = [[*wrapped(s.label, wrap), f"(n = {s.n_remaining})"] for s in parsed]
    side_lines = [
        ([f"{excluded_title} (n = {s.n_removed})", *wrapped(s.reason, wrap - 6)] if s.n_removed else None)
        for s in parsed
    ]
    char_w = st.font_size / 72 * 0.58  # average DejaVu Sans advance; layout only
    longest_side = max((len(line) for side in side_lines if side for line in side), default=0)
    side_w = max(side_w, longest_side * char_w + 0.3)
    longest_main = max(len(line) for lines in main_lines for line in lines)
    main_w = max(main_w, longest_main * char_w + 0.3)
    main_h = [len(lines) * line_h + 2 * pad for lines in main_lines]
    gaps = [max(0.42, (len(side) * line_h + 2 * pad + 0.3) if side else 0.42) for side in side_lines[1:]]
    total_h = sum(main_h) + sum(gaps) + 0.2
    width = 0.1 + main_w + gap_x + side_w + 0.1
    cx = 0.1 + main_w / 2
    sx = 0.1 + main_w + gap_x

    with mpl.rc_context(_rc(st)):
        fig = _new_figure(width, total_h)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(0, total_h)
        ax.set_axis_off()
        y = total_h - 0.1
        prev_bottom = None
        for i, (lines, h) in enumerate(zip(main_lines, main_h, strict=True)):
            if i > 0:
                gap = gaps[i - 1]
                top = y - gap
                ax.annotate("", xy=(cx, top), xytext=(cx, prev_bottom), zorder=1,
                            arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.9,
                                        "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
                side = side_lines[i]
                if side:
                    mid = (prev_bottom + top) / 2
                    sh = len(side) * line_h + 2 * pad
                    ax.annotate("", xy=(sx, mid), xytext=(cx, mid), zorder=1,
                                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.9,
                                            "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
                    ax.add_patch(FancyBboxPatch((sx, mid - sh / 2), side_w, sh, boxstyle="square,pad=0",
                                                facecolor="#F2F2F2", edgecolor="black", linewidth=0.8,
                                                gid=f"flow:excluded:{i}"))
                    ax.text(sx + 0.12, mid, "\n".join(side), ha="left", va="center", linespacing=1.35,
                            gid=f"flow:excluded_text:{i}")
                y = top
            ax.add_patch(FancyBboxPatch((cx - main_w / 2, y - h), main_w, h, boxstyle="square,pad=0",
                                        facecolor="white", edgecolor="black", linewidth=1.0, gid=f"flow:step:{i}"))
            ax.text(cx, y - h / 2, "\n".join(lines), ha="center", va="center", multialignment="center",
                    linespacing=1.35, gid=f"flow:step_text:{i}")
            prev_bottom = y - h
            y = y - h
    return fig


def save_figure(
    fig: Figure,
    stem: str | os.PathLike[str],
    *,
    dpi: int = 300,
    pdf: bool = False,
    svg_text: Literal["path", "text"] = "path",
    style: str | JournalStyle | None = None,
) -> tuple[Path, Path]:
    """Write ``<stem>.png`` (``dpi``, default 300) and ``<stem>.svg`` (and ``.pdf`` if asked), atomically.

    Deterministic: no dates in the metadata, fixed SVG hash salt, fixed padding, white background.
    ``svg_text="path"`` (default) outlines glyphs so the SVG looks the same everywhere;
    ``"text"`` keeps editable text (the viewer then needs the font).
    """
    check_option("save_figure", "svg_text", svg_text, ("path", "text"))
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 72 <= dpi <= 1200:
        raise InvalidOptionError(f"save_figure(): dpi={dpi!r} must be an integer from 72 to 1200")
    st = get_style(style)
    base = Path(stem)
    if base.suffix in {".png", ".svg", ".pdf"}:
        base = base.with_suffix("")
    if not base.parent.is_dir():
        raise FileNotFoundError(f"save_figure(): directory {base.parent} does not exist")
    rc = _rc(st) | {"svg.fonttype": "path" if svg_text == "path" else "none", "pdf.fonttype": 42}
    common = {"bbox_inches": "tight", "pad_inches": 0.05, "facecolor": "white", "edgecolor": "none"}
    outputs: dict[str, bytes] = {}
    with mpl.rc_context(rc):
        for fmt, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None}),
                          ("pdf", {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None})):
            if fmt == "pdf" and not pdf:
                continue
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta, **common)
            outputs[fmt] = buf.getvalue()
    paths = {fmt: atomic_write_bytes(base.with_suffix(f".{fmt}"), data) for fmt, data in outputs.items()}
    return paths["png"], paths["svg"]
