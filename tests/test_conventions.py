"""Each shared concept is defined once: stats options and defaults (ipafstudy.conventions), codes (rules.codes).

The plan must offer exactly the values the stats functions accept, with the same defaults, and no module may
define its own copy of a shared name.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

import ipafstudy
import ipafstudy.stats as st
from ipafstudy import conventions as conv
from ipafstudy.analysis.plan import AnalysisPlan, FigureSpec, OutcomeSpec, RegressionSpec, StatisticsSpec
from ipafstudy.cohort.timepoints import outcome_code_choices
from ipafstudy.data.schema import TABLES
from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules import codes
from ipafstudy.rules.units import MEASUREMENT_VARIABLES

PACKAGE = Path(ipafstudy.__file__).parent


def _default(fn, name):
    return inspect.signature(fn).parameters[name].default


def _allowed(model, field):
    return get_args(model.model_fields[field].annotation)


@pytest.mark.parametrize(
    ("field", "fn", "param"),
    [
        ("quantile_method", st.quantiles, "method"),
        ("zero_method", st.wilcoxon_signed_rank, "zero_method"),
        ("continuity", st.wilcoxon_signed_rank, "continuity"),
        ("wilcoxon_method", st.wilcoxon_signed_rank, "method"),
        ("effect_size_n", st.wilcoxon_signed_rank, "effect_size_n"),
        ("tie_decimals", st.wilcoxon_signed_rank, "tie_decimals"),
        ("mann_whitney_method", st.mann_whitney, "method"),
        ("mann_whitney_continuity", st.mann_whitney, "continuity"),
        ("bootstrap_resamples", st.median_change, "n_resamples"),
        ("bootstrap_ci_method", st.median_change, "ci_method"),
        ("confidence", st.median_change, "confidence"),
    ],
)
def test_plan_default_is_the_stats_default(field, fn, param):
    assert StatisticsSpec.model_fields[field].default == _default(fn, param)


def test_tie_decimals_default_is_shared_by_every_rank_test():
    for fn in (st.wilcoxon_signed_rank, st.mann_whitney, st.spearman, st.spearman_matrix):
        assert _default(fn, "tie_decimals") == conv.DEFAULT_TIE_DECIMALS


def test_plan_offers_exactly_the_values_stats_accepts():
    assert _allowed(StatisticsSpec, "quantile_method") == conv.QUANTILE_METHODS
    assert _allowed(StatisticsSpec, "zero_method") == conv.ZERO_METHODS
    assert _allowed(StatisticsSpec, "wilcoxon_method") == conv.WILCOXON_METHODS
    assert _allowed(StatisticsSpec, "mann_whitney_method") == conv.MANN_WHITNEY_METHODS
    assert _allowed(StatisticsSpec, "effect_size_n") == conv.EFFECT_SIZE_NS
    assert _allowed(StatisticsSpec, "bootstrap_ci_method") == conv.CI_METHODS
    assert _allowed(FigureSpec, "whiskers") == conv.WHISKER_RULES
    assert _allowed(RegressionSpec, "robust_se") == conv.ROBUST_SE_OPTIONS
    assert RegressionSpec.model_fields["robust_se"].default == _default(st.linear_regression, "robust_se")
    assert FigureSpec.model_fields["whiskers"].default == _default(st.boxplot_stats, "whisker")
    # An outcome is an HRCT score or any catalogue variable; the reference study's outcomes are among them.
    assert OutcomeSpec.model_fields["code"].annotation is str
    choices = outcome_code_choices()
    assert choices == (*codes.HRCT_OUTCOMES, *sorted(MEASUREMENT_VARIABLES))
    assert set(codes.OUTCOME_CODES) <= set(choices)


def test_mann_whitney_refuses_the_wilcoxon_only_auto_method():
    # 'auto' (exact for small samples without ties) exists for the Wilcoxon test only; Mann-Whitney used to
    # accept it, run the asymptotic test and record method='auto'.
    with pytest.raises(InvalidOptionError, match="method='auto'"):
        st.mann_whitney([1, 2, 3], [4, 5, 6, 7], method="auto")
    with pytest.raises(ValueError, match="mann_whitney_method"):
        AnalysisPlan.model_validate({"statistics": {"mann_whitney_method": "auto"}})


@pytest.mark.parametrize("bad", [-1, conv.MAX_TIE_DECIMALS + 1])
def test_tie_decimals_bounds_are_the_same_in_plan_and_stats(bad):
    with pytest.raises(InvalidOptionError, match=f"from 0 to {conv.MAX_TIE_DECIMALS}"):
        st.spearman([1, 2, 3, 4], [1, 3, 2, 4], tie_decimals=bad)
    with pytest.raises(ValueError, match="tie_decimals"):
        AnalysisPlan.model_validate({"statistics": {"tie_decimals": bad}})
    AnalysisPlan.model_validate({"statistics": {"tie_decimals": conv.MAX_TIE_DECIMALS}})


def test_codes_are_the_ones_the_data_format_allows():
    zone = next(c for c in TABLES["hrct_reads"].columns if c.name == "zone")
    assert tuple(zone.allowed) == codes.ZONES
    assert codes.OUTCOME_CODES[0] == "hrct_total"
    assert [c for c in codes.HRCT_OUTCOMES if c != "hrct_total"] == [f"hrct_{p}" for p in codes.PATTERNS]


SHARED_NAMES = ("ZONES", "PATTERNS", "OUTCOME_CODES", "HRCT_OUTCOMES", "MEASUREMENT_OUTCOMES",
                "DEFAULT_TIE_DECIMALS", "QuantileMethod", "ZeroMethod", "TestMethod", "WilcoxonMethod",
                "MannWhitneyMethod", "EffectSizeN", "TIMEPOINTS", "CiMethod", "AdjustMethod", "WhiskerRule", "Whiskers",
                "CategoricalTest", "IccModel", "RobustSe", "ROBUST_SE",
                "STARS_LEGEND", "is_missing", "jsonable", "to_jsonable", "_jsonable")


def test_each_shared_name_is_defined_in_one_module():
    pattern = re.compile(r"^(?:def |class )?(" + "|".join(SHARED_NAMES) + r")\b\s*(?:[:=(])", re.M)
    homes: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            homes.setdefault(match.group(1), []).append(str(path.relative_to(PACKAGE)))
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}
    assert "to_jsonable" not in homes and "_jsonable" not in homes


def test_light_modules_import_neither_numpy_nor_pandas():
    code = ("import sys, ipafstudy.conventions, ipafstudy.rules.codes, ipafstudy.analysis.plan; "
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
