"""Statistical conventions: every option of ``ipafstudy.stats``, spelled once, with its allowed values and default.

Each option is a ``Literal`` type; the tuple of its values (for the checks and the error messages) is read
from that type, and the default reproduces SPSS/Prism. The stats functions and the analysis plan both
import from here, so a value or a default cannot differ between them. A leaf module of pure Python (not
inside ``ipafstudy.stats``, whose package import loads numpy, scipy and statsmodels), so the plan and
``validate`` stay light.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

QuantileMethod = Literal["spss", "r7", "tukey"]
WhiskerRule = Literal["minmax", "tukey"]
ZeroMethod = Literal["wilcox", "pratt"]
WilcoxonMethod = Literal["asymptotic", "exact", "auto"]
MannWhitneyMethod = Literal["asymptotic", "exact"]
EffectSizeN = Literal["pairs", "nonzero", "observations"]
CiMethod = Literal["percentile", "bca"]
AdjustMethod = Literal["holm", "bh"]
CategoricalTest = Literal["auto", "pearson", "fisher"]
IccModel = Literal["ICC1_1", "ICC2_1", "ICC3_1", "ICC1_k", "ICC2_k", "ICC3_k"]
KappaWeights = Literal["linear", "quadratic", "unweighted"]
RobustSe = Literal["none", "hc3"]
WeightingMethod = Literal["overlap", "iptw"]

QUANTILE_METHODS: Final = get_args(QuantileMethod)
WHISKER_RULES: Final = get_args(WhiskerRule)
ZERO_METHODS: Final = get_args(ZeroMethod)
WILCOXON_METHODS: Final = get_args(WilcoxonMethod)
MANN_WHITNEY_METHODS: Final = get_args(MannWhitneyMethod)
EFFECT_SIZE_NS: Final = get_args(EffectSizeN)
CI_METHODS: Final = get_args(CiMethod)
ADJUST_METHODS: Final = get_args(AdjustMethod)
CATEGORICAL_TESTS: Final = get_args(CategoricalTest)
ICC_MODELS: Final = get_args(IccModel)
KAPPA_WEIGHTS: Final = get_args(KappaWeights)
ROBUST_SE_OPTIONS: Final = get_args(RobustSe)
WEIGHTING_METHODS: Final = get_args(WeightingMethod)

DEFAULT_QUANTILE_METHOD: Final[QuantileMethod] = "spss"
DEFAULT_WHISKER_RULE: Final[WhiskerRule] = "minmax"
DEFAULT_ZERO_METHOD: Final[ZeroMethod] = "wilcox"
DEFAULT_WILCOXON_METHOD: Final[WilcoxonMethod] = "asymptotic"
DEFAULT_MANN_WHITNEY_METHOD: Final[MannWhitneyMethod] = "asymptotic"
DEFAULT_CONTINUITY: Final = False
DEFAULT_EFFECT_SIZE_N: Final[EffectSizeN] = "pairs"
DEFAULT_CI_METHOD: Final[CiMethod] = "percentile"
DEFAULT_BOOTSTRAP_RESAMPLES: Final = 10_000
DEFAULT_CONFIDENCE: Final = 0.95
DEFAULT_ROBUST_SE: Final[RobustSe] = "none"
DEFAULT_WEIGHTING_METHOD: Final[WeightingMethod] = "overlap"
DEFAULT_PROPENSITY_BOOTSTRAP_RESAMPLES: Final = 2000

DEFAULT_TIE_DECIMALS: Final = 10
"""Values equal to this many decimal places are ties (``tie_decimals=None``: exact doubles, as R)."""
MAX_TIE_DECIMALS: Final = 15
"""The most decimals ``tie_decimals`` may ask for (a double holds about 15 significant digits)."""
