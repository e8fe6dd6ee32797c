"""Kaplan-Meier figure with the numbers at risk under it (issue 12 item 2).

Draws the curves the analysis computed (step function, pointwise log-log band, censoring ticks) and prints
the numbers at risk it was given; nothing is estimated here. Deterministic like every figure
(``reporting.figures.save_figure``). ``gid``: ``km:curve:<i>``, ``km:band:<i>``, ``km:censor:<i>``,
``km:risk:<i>:<j>`` (curve i, time j).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np

from ipafstudy.reporting.figures import OKABE_ITO, _new_figure, _rc
from ipafstudy.reporting.format import JournalStyle, fmt_int, get_style

KM_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"], OKABE_ITO["purple"])


@dataclass(frozen=True, slots=True)
class KmCurve:
    """One curve as the analysis gives it: the step times and values, the band, and the numbers at risk."""

    label: str
    time: tuple[float, ...]
    surv: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    n_censor: tuple[int, ...]
    at_risk: tuple[int, ...]


def kaplan_meier_plot(
    curves: Sequence[KmCurve],
    at_risk_times: Sequence[float],
    *,
    x_label: str,
    y_label: str = "Proportion without the event",
    style: str | JournalStyle | None = None,
):
    """Step curves from (0, 1), a shaded pointwise CI (none where it is undefined), '+' at censoring times and a
    "Number at risk" table aligned with the x ticks."""
    st = get_style(style)
    if not curves:
        raise ValueError("kaplan_meier_plot(): no curve to draw")
    times = [float(t) for t in at_risk_times]
    for c in curves:
        n = len(c.time)
        if any(len(v) != n for v in (c.surv, c.lower, c.upper, c.n_censor)) or len(c.at_risk) != len(times):
            raise ValueError(f"kaplan_meier_plot(): curve {c.label!r} has sequences of unequal length")
    n_rows = len(curves)
    with mpl.rc_context(_rc(st)):
        fig = _new_figure(st.figure_width_in, st.figure_width_in * (0.55 + 0.06 * n_rows))
        ax = fig.add_axes((0.2, 0.16 + 0.07 * n_rows, 0.76, 0.78 - 0.07 * n_rows))
        for i, c in enumerate(curves):
            colour = KM_COLOURS[i % len(KM_COLOURS)]
            x = np.concatenate(([0.0], np.asarray(c.time, dtype=float)))
            y = np.concatenate(([1.0], np.asarray(c.surv, dtype=float)))
            ax.step(x, y, where="post", color=colour, linewidth=1.4, label=c.label, gid=f"km:curve:{i}", zorder=3)
            lo = np.concatenate(([np.nan], np.asarray(c.lower, dtype=float)))
            hi = np.concatenate(([np.nan], np.asarray(c.upper, dtype=float)))
            ok = ~(np.isnan(lo) | np.isnan(hi))
            if ok.any():
                ax.fill_between(x, lo, hi, where=ok, step="post", color=colour, alpha=0.15, linewidth=0,
                                gid=f"km:band:{i}", zorder=2)
            cens = np.asarray(c.n_censor) > 0
            if cens.any():
                ax.plot(np.asarray(c.time, dtype=float)[cens], np.asarray(c.surv, dtype=float)[cens], "+",
                        color=colour, markersize=6, markeredgewidth=1.0, gid=f"km:censor:{i}", zorder=4)
        ax.set_ylim(0.0, 1.02)
        right = max([*times, *(max(c.time) for c in curves if c.time)]) if times else 1.0
        ax.set_xlim(0.0, right * 1.02 if right > 0 else 1.0)
        if times:
            ax.set_xticks(times)
            ax.set_xticklabels([f"{t:g}" for t in times])
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        if n_rows > 1 or curves[0].label:
            ax.legend(loc="upper right", frameon=False, fontsize=st.font_size - 0.5)
        trans = ax.get_xaxis_transform()
        top = -0.24
        ax.text(-0.02, top + 0.06, "Number at risk", transform=ax.transAxes, ha="right", va="center",
                fontsize=st.font_size - 0.5, fontweight="bold")
        for i, c in enumerate(curves):
            y_pos = top - 0.075 * i
            ax.text(-0.02, y_pos, c.label, transform=ax.transAxes, ha="right", va="center",
                    fontsize=st.font_size - 1, color=KM_COLOURS[i % len(KM_COLOURS)])
            for j, (t, n) in enumerate(zip(times, c.at_risk, strict=True)):
                ax.text(t, y_pos, fmt_int(n, style=st), transform=trans, ha="center", va="center",
                        fontsize=st.font_size - 1, gid=f"km:risk:{i}:{j}")
    return fig
