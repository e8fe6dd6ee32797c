"""Public statistics API (pure functions on numpy/pandas inputs; frozen results with ``to_dict()``).

Defaults reproduce SPSS/Prism conventions (``/work/shared/spec/statistics.md``); R's
choices are named options, and every result echoes the options it used.
"""

from ipafstudy.stats.agreement import IccResult, KappaResult, icc, koo_li_band, landis_koch_band, weighted_kappa
from ipafstudy.stats.bootstrap import MedianChangeResult, median_change
from ipafstudy.stats.correlation import SpearmanMatrixResult, SpearmanResult, spearman, spearman_matrix
from ipafstudy.stats.groups import (
    CategoricalResult,
    KruskalWallisResult,
    MannWhitneyResult,
    PairwiseComparison,
    PairwiseResult,
    compare_categorical,
    kruskal_wallis,
    mann_whitney,
    pairwise_categorical,
    pairwise_mann_whitney,
)
from ipafstudy.stats.incidence import PoissonRateResult, poisson_rate
from ipafstudy.stats.normality import ShapiroResult, shapiro_wilk
from ipafstudy.stats.paired import (
    ConventionsResult,
    HodgesLehmannResult,
    WilcoxonResult,
    hodges_lehmann,
    wilcoxon_conventions,
    wilcoxon_signed_rank,
)
from ipafstudy.stats.propensity import (
    BootstrapDifferenceResult,
    PropensityFit,
    SmdResult,
    WeightedDifferenceResult,
    balancing_weights,
    bootstrap_indices,
    bootstrap_weighted_difference,
    bootstrap_weighted_differences,
    propensity_scores,
    standardized_mean_differences,
    weighted_difference,
)
from ipafstudy.stats.pvalues import adjust_p, format_p, significance_stars
from ipafstudy.stats.quantiles import (
    BoxplotStats,
    DescribeResult,
    QuantileResult,
    boxplot_stats,
    describe_continuous,
    percentile,
    quantiles,
)
from ipafstudy.stats.regression import RegressionResult, linear_regression
from ipafstudy.stats.slopes import SlopeResult, slope_model
from ipafstudy.stats.survival import KaplanMeierResult, kaplan_meier

__all__ = [
    "BootstrapDifferenceResult",
    "BoxplotStats",
    "CategoricalResult",
    "ConventionsResult",
    "DescribeResult",
    "HodgesLehmannResult",
    "IccResult",
    "KaplanMeierResult",
    "KappaResult",
    "KruskalWallisResult",
    "MannWhitneyResult",
    "MedianChangeResult",
    "PairwiseComparison",
    "PairwiseResult",
    "PoissonRateResult",
    "PropensityFit",
    "QuantileResult",
    "RegressionResult",
    "ShapiroResult",
    "SlopeResult",
    "SmdResult",
    "SpearmanMatrixResult",
    "SpearmanResult",
    "WeightedDifferenceResult",
    "WilcoxonResult",
    "adjust_p",
    "balancing_weights",
    "bootstrap_indices",
    "bootstrap_weighted_difference",
    "bootstrap_weighted_differences",
    "boxplot_stats",
    "compare_categorical",
    "describe_continuous",
    "format_p",
    "hodges_lehmann",
    "icc",
    "kaplan_meier",
    "koo_li_band",
    "kruskal_wallis",
    "landis_koch_band",
    "linear_regression",
    "mann_whitney",
    "median_change",
    "pairwise_categorical",
    "pairwise_mann_whitney",
    "percentile",
    "poisson_rate",
    "propensity_scores",
    "quantiles",
    "shapiro_wilk",
    "significance_stars",
    "slope_model",
    "spearman",
    "spearman_matrix",
    "standardized_mean_differences",
    "weighted_difference",
    "weighted_kappa",
    "wilcoxon_conventions",
    "wilcoxon_signed_rank",
]
