"""Number, p-value and summary formatting, with journal styles.

Rules, chosen because journals and SPSS output are read by humans who round by hand:

* Rounding is **half-up on the decimal value a person sees**: the shortest decimal string of the
  float (``repr``) rounded to 12 significant digits, then ``ROUND_HALF_UP``
  (:func:`ipafstudy.stats.pvalues.round_half_up`, shared with ``format_p``). So 2.675 prints as
  "2.68", 0.125 as "0.13", 0.455 computed as 0.45499999999999996 as "0.46" and -1.575 computed as
  -1.5749999999999997 as "-1.58" with 2 decimals. Python's
  ``format(2.675, ".2f")`` gives "2.67" (binary representation) and ``round(0.125, 2)`` gives
  0.12 (half-even); neither is what a reader checking by hand expects. Halves round away from
  zero for negatives too (-2.5 -> "-3").
* A value that rounds to zero never prints a sign: "-0.0" becomes "0.0".
* Missing values (``None``, NaN, ``pd.NA``) print as ``style.missing`` ("NA" by default; the
  presets keep "NA" so CSV readers in R/pandas see a missing value). :func:`print_style` gives the
  document variant: "—" for a missing value and the true minus sign U+2212 for negative numbers.
* Infinite values print as "Inf" / "-Inf" (as R does) rather than failing.
* p-values are printed by ``ipafstudy.stats.format_p`` (one code path for the package): below
  0.001 -> "<0.001", otherwise 3 decimals (SPSS-like default), rounded by the same half-up rule
  as every other number. NEJM/JAMA-like presets use 2 decimals for p >= 0.01,
  ">0.99" on top, and JAMA drops the leading zero. Stars use the unrounded p, so p = 0.0496 shows
  "0.050" with "*"; this is the usual journal behaviour.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Literal

from ipafstudy.errors import InvalidOptionError, check_option
from ipafstudy.stats.pvalues import decimal_as_seen, format_p, round_half_up
from ipafstudy.stats.pvalues import significance_stars as _stats_stars
from ipafstudy.values import is_missing

PStyle = Literal["fixed", "adaptive"]


@dataclass(frozen=True, slots=True)
class JournalStyle:
    """Everything about how numbers and figures look; no effect on any computed value.

    Attributes
    ----------
    decimals : default decimals for continuous summaries (median, IQR, mean, SD, CI).
    pct_decimals : decimals of percentages in "n (%)".
    corr_decimals : decimals of correlation coefficients (heatmap cells).
    p_decimals : decimals of p when ``p_style="fixed"``; for ``"adaptive"`` the decimals used
        below 0.01. p below ``10 ** -p_decimals`` prints as "<0.001" (3 decimals).
    p_style : "fixed" (all p at ``p_decimals``) or "adaptive" (2 decimals for p >= 0.01, else
        ``p_decimals``; NEJM/JAMA guidance).
    p_ceiling : p above this prints as ">ceiling" (None = never; presets use 0.99).
    p_leading_zero : False gives JAMA's ".04" and "<.001".
    pct_sign : "34 (70.8%)" versus "34 (70.8)".
    range_sep : separator inside median (Q1, Q3) and CI; when either bound is negative and the
        separator is a dash, " to " is used instead so "-3–-1" never appears.
    median_iqr_template, mean_sd_template, ci_template : how the pieces are combined.
    missing : text for a missing value.
    unicode_minus : print U+2212 instead of "-" (typeset documents; off by default for CSV).
    font_family, font_size, figure_width_in : figure appearance.
    """

    name: str = "default"
    decimals: int = 1
    pct_decimals: int = 1
    corr_decimals: int = 2
    p_decimals: int = 3
    p_style: PStyle = "fixed"
    p_ceiling: float | None = None
    p_leading_zero: bool = True
    pct_sign: bool = True
    range_sep: str = ", "
    median_iqr_template: str = "{median} ({q1}{sep}{q3})"
    mean_sd_template: str = "{mean} ({sd})"
    ci_template: str = "{low}{sep}{high}"
    missing: str = "NA"
    unicode_minus: bool = False
    font_family: str = "DejaVu Sans"
    font_size: float = 8.0
    figure_width_in: float = 7.0
    #: (code, decimals) pairs of variables printed with other than ``decimals`` (from the plan's catalogue).
    variable_decimals: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name in ("decimals", "pct_decimals", "corr_decimals", "p_decimals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                raise InvalidOptionError(f"JournalStyle(): {name}={value!r} must be an integer from 0 to 10")
        check_option("JournalStyle", "p_style", self.p_style, ("fixed", "adaptive"))
        if self.p_decimals < 1:
            raise InvalidOptionError(f"JournalStyle(): p_decimals={self.p_decimals!r} must be at least 1")
        if self.p_ceiling is not None and not 0.5 < self.p_ceiling < 1:
            raise InvalidOptionError(f"JournalStyle(): p_ceiling={self.p_ceiling!r} must be between 0.5 and 1")

    def decimals_for(self, code: str, fallback: Mapping[str, int] | None = None) -> int:
        """Decimals of one variable: its own (``variable_decimals``), else ``fallback``, else ``decimals``."""
        own = dict(self.variable_decimals)
        if code in own:
            return own[code]
        return (fallback or {}).get(code, self.decimals)

    def with_variable_decimals(self, decimals: Mapping[str, int]) -> JournalStyle:
        """A copy that prints each listed variable with its decimals (sorted, so equal plans give equal styles)."""
        return replace(self, variable_decimals=tuple(sorted((str(k), int(v)) for k, v in decimals.items())))

    def with_options(self, **changes: object) -> JournalStyle:
        """A copy with some fields changed (themes supply defaults; users override)."""
        return replace(self, **changes)  # type: ignore[arg-type]


STYLES: dict[str, JournalStyle] = {
    # SPSS-like: p to 3 decimals, "<0.001", median (Q1, Q3) with a comma.
    "default": JournalStyle(),
    # NEJM-like: p 2 decimals when >= 0.01, 3 below, "<0.001", ">0.99"; IQR with an en dash.
    "nejm": JournalStyle(
        name="nejm", p_style="adaptive", p_ceiling=0.99, range_sep="–", ci_template="{low} to {high}",
    ),
    # JAMA-like: as NEJM but no leading zero on p ("P = .04", "<.001"), CI "low to high".
    "jama": JournalStyle(
        name="jama", p_style="adaptive", p_ceiling=0.99, p_leading_zero=False, range_sep="–",
        ci_template="{low} to {high}",
    ),
}


def get_style(style: str | JournalStyle | None = None) -> JournalStyle:
    """Resolve a preset name ("default", "nejm", "jama") or pass a JournalStyle through."""
    if style is None:
        return STYLES["default"]
    if isinstance(style, JournalStyle):
        return style
    check_option("get_style", "style", style, STYLES)
    return STYLES[style]


#: Printed for a missing value in typeset documents (DOCX/HTML/XLSX); CSV and JSON keep ``style.missing``.
PRINT_MISSING = "\u2014"


def print_style(style: str | JournalStyle | None = None) -> JournalStyle:
    """The style for typeset documents: true minus sign (U+2212) and an em dash for a missing value.

    The one place where document and machine output differ: ``tables/*.csv`` and ``results.json``
    are written with the style as given (ASCII hyphen-minus, "NA") so R, pandas and Excel read the
    numbers; the Word, HTML and Excel report tables are built with this style, as journals typeset.

    >>> fmt_number(-1.25, 1, style=print_style()), fmt_number(None, style=print_style())
    ('\u22121.3', '\u2014')
    """
    return get_style(style).with_options(unicode_minus=True, missing=PRINT_MISSING)


_RELATION = re.compile(r" ([=<>\u2264\u2265]) (?=\S)")


def keep_relations_together(text: str) -> str:
    """No line break inside "p < 0.001", "n = 48", "r = 0.82": the spaces around the sign become U+00A0.

    For running text, captions and footnotes of typeset documents (never table cells, which must
    equal the CSV).

    >>> keep_relations_together("p < 0.001, n = 48") == "p\u00a0<\u00a00.001, n\u00a0=\u00a048"
    True
    """
    return _RELATION.sub("\u00a0\\1\u00a0", text)


def _to_decimal(value: object, what: str) -> Decimal:
    """The decimal a human sees (shortest repr, 12 significant digits): see :func:`decimal_as_seen`."""
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected a number, got a boolean {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    try:
        as_float = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: expected a number, got {value!r} ({type(value).__name__})") from exc
    try:
        return decimal_as_seen(as_float)
    except InvalidOperation as exc:  # pragma: no cover - repr of a float is always valid
        raise TypeError(f"{what}: cannot format {value!r}") from exc


def _round_str(d: Decimal, decimals: int, style: JournalStyle) -> str:
    rounded = round_half_up(d, decimals)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.0"
    text = f"{rounded:f}"
    if style.unicode_minus and text.startswith("-"):
        text = "\u2212" + text[1:]
    return text


def fmt_number(value: object, decimals: int | None = None, *, style: str | JournalStyle | None = None) -> str:
    """Round half-up to ``decimals`` (default ``style.decimals``) and print; missing -> ``style.missing``.

    >>> fmt_number(2.675, 2), fmt_number(0.125, 2), fmt_number(-0.04, 1), fmt_number(None)
    ('2.68', '0.13', '0.0', 'NA')
    """
    st = get_style(style)
    places = st.decimals if decimals is None else decimals
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 10:
        raise InvalidOptionError(f"fmt_number(): decimals={places!r} must be an integer from 0 to 10")
    if is_missing(value):
        return st.missing
    if isinstance(value, float | int) and not isinstance(value, bool) and math.isinf(value):
        text = "Inf" if value > 0 else "-Inf"
        return text.replace("-", "\u2212") if st.unicode_minus else text
    return _round_str(_to_decimal(value, "fmt_number()"), places, st)


def fmt_int(value: object, *, style: str | JournalStyle | None = None) -> str:
    """A count: must be a whole number (a non-integer count is a bug upstream, so it is refused)."""
    st = get_style(style)
    if is_missing(value):
        return st.missing
    d = _to_decimal(value, "fmt_int()")
    if d != d.to_integral_value():
        raise ValueError(f"fmt_int(): {value!r} is not a whole number")
    return _round_str(d, 0, st)


def _sep(style: JournalStyle, low: str, high: str) -> str:
    sep = style.range_sep
    negative = low.startswith(("-", "\u2212")) or high.startswith(("-", "\u2212"))
    if negative and sep.strip() in {"-", "–", "—"}:
        return " to "
    return sep


def fmt_median_iqr(q1: object, median: object, q3: object, decimals: int | None = None, *,
                   style: str | JournalStyle | None = None) -> str:
    """ "56.0 (50.0, 59.0)": median (Q1, Q3) exactly as given; all missing -> ``style.missing``."""
    st = get_style(style)
    if is_missing(q1) and is_missing(median) and is_missing(q3):
        return st.missing
    lo, me, hi = (fmt_number(v, decimals, style=st) for v in (q1, median, q3))
    return st.median_iqr_template.format(median=me, q1=lo, q3=hi, sep=_sep(st, lo, hi))


def fmt_mean_sd(mean: object, sd: object, decimals: int | None = None, *,
                style: str | JournalStyle | None = None) -> str:
    """ "12.3 (4.5)" (template in the style); a negative SD is refused."""
    st = get_style(style)
    if is_missing(mean) and is_missing(sd):
        return st.missing
    if not is_missing(sd) and float(sd) < 0:  # type: ignore[arg-type]
        raise ValueError(f"fmt_mean_sd(): SD must not be negative, got {sd!r}")
    return st.mean_sd_template.format(mean=fmt_number(mean, decimals, style=st), sd=fmt_number(sd, decimals, style=st))


def fmt_ci(low: object, high: object, decimals: int | None = None, *,
           style: str | JournalStyle | None = None) -> str:
    """ "-3.0, -1.0" / "-3.0 to -1.0": the interval bounds as given; low > high is refused."""
    st = get_style(style)
    if is_missing(low) and is_missing(high):
        return st.missing
    if not is_missing(low) and not is_missing(high) and float(low) > float(high):  # type: ignore[arg-type]
        raise ValueError(f"fmt_ci(): lower bound {low!r} is above upper bound {high!r}")
    lo, hi = fmt_number(low, decimals, style=st), fmt_number(high, decimals, style=st)
    return st.ci_template.format(low=lo, high=hi, sep=_sep(st, lo, hi))


def fmt_estimate_ci(estimate: object, low: object, high: object, decimals: int | None = None, *,
                    style: str | JournalStyle | None = None) -> str:
    """ "-2.0 (-3.0, -1.0)": an estimate followed by its interval in parentheses."""
    st = get_style(style)
    est = fmt_number(estimate, decimals, style=st)
    if is_missing(low) and is_missing(high):
        return est
    return f"{est} ({fmt_ci(low, high, decimals, style=st)})"


def fmt_n_pct(n: object, denom: object, show_denom: bool = False, decimals: int | None = None, *,
              style: str | JournalStyle | None = None) -> str:
    """ "34 (70.8%)" or "34/48 (70.8%)"; the percentage is exact (Decimal), then rounded half-up.

    A zero denominator prints the percentage as missing: "0/0 (NA)".
    """
    st = get_style(style)
    if is_missing(n):
        return st.missing
    count = _to_decimal(n, "fmt_n_pct()")
    if is_missing(denom):
        raise ValueError(f"fmt_n_pct(): denominator is missing for n={n!r}")
    total = _to_decimal(denom, "fmt_n_pct()")
    for name, v in (("n", count), ("denom", total)):
        if v != v.to_integral_value() or v < 0:
            raise ValueError(f"fmt_n_pct(): {name} must be a non-negative whole number, got {v}")
    if count > total:
        raise ValueError(f"fmt_n_pct(): n={n!r} is larger than its denominator {denom!r}")
    places = st.pct_decimals if decimals is None else decimals
    sign = "%" if st.pct_sign else ""
    pct = st.missing if total == 0 else _round_str(count * 100 / total, places, st) + sign
    head = f"{int(count)}/{int(total)}" if show_denom else f"{int(count)}"
    return f"{head} ({pct})"


def fmt_p(p: object, *, style: str | JournalStyle | None = None) -> str:
    """Print a p-value by the journal style; p outside [0, 1] is refused.

    The digits come from :func:`ipafstudy.stats.format_p` (the one p-value formatter of the
    package); the style only chooses how many decimals, the ">0.99" ceiling and the leading zero.
    Below ``10 ** -p_decimals`` the value prints as "<0.001" (for 3 decimals).

    >>> fmt_p(0.0004), fmt_p(0.0496), fmt_p(0.5), fmt_p(0.5, style="nejm"), fmt_p(0.004, style="jama")
    ('<0.001', '0.050', '0.500', '0.50', '.004')
    """
    st = get_style(style)
    if is_missing(p):
        return st.missing
    value = float(p)  # type: ignore[arg-type]
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"fmt_p(): p={p!r} is not a probability (expected 0 <= p <= 1)")
    if st.p_ceiling is not None and value > st.p_ceiling:
        text = ">" + _round_str(_to_decimal(st.p_ceiling, "fmt_p()"), _places(st.p_ceiling), st)
    else:
        digits = st.p_decimals
        if st.p_style == "adaptive" and value >= 0.01:
            digits = min(2, st.p_decimals)
        text = format_p(value, digits=digits)
    if not st.p_leading_zero:
        text = text.replace("0.", ".", 1) if text.lstrip("<>").startswith("0.") else text
    return text



def fmt_p_relation(p: object, *, style: str | JournalStyle | None = None) -> str:
    """p as it reads in running text: 'p = 0.012' or 'p < 0.001' (never 'p = <0.001').

    >>> fmt_p_relation(0.0123), fmt_p_relation(0.0004)
    ('p = 0.012', 'p < 0.001')
    """
    text = fmt_p(p, style=style)
    return f"p {text[0]} {text[1:]}" if text.startswith(("<", ">")) else f"p = {text}"

def _places(threshold: float) -> int:
    """Decimals needed to print a threshold such as 0.99 (2)."""
    exponent = _to_decimal(threshold, "threshold").normalize().as_tuple().exponent
    return max(0, -int(exponent))


def significance_stars(p: object, *, ns: str = "ns") -> str:
    """ "***" (p < 0.001), "**" (< 0.01), "*" (< 0.05), else ``ns``; missing p -> "" (nothing drawn).

    Thresholds and the strict "<" on the unrounded p come from :func:`ipafstudy.stats.significance_stars`
    (as in the study's legends, "*, P < 0.05"); this wrapper only adds the "ns" label.
    """
    if is_missing(p):
        return ""
    value = float(p)  # type: ignore[arg-type]
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"significance_stars(): p={p!r} is not a probability (expected 0 <= p <= 1)")
    return _stats_stars(value) or ns


#: Footnote text matching :func:`significance_stars`.
STARS_LEGEND = "* p < 0.05; ** p < 0.01; *** p < 0.001"
