"""Additional analysis "power": sample size for the next trial, and the power the subgroup comparison had (item 5).

The planned trial: two arms of equal size, the primary outcome's change (follow-up minus baseline) compared
between them at two-sided ``alpha``. The observed change of the analysed patients stands for the drug arm;
the comparator arm is assumed to change by 0 on average with the same spread (the report says so). Effect =
``fraction`` x observed mean change; SD = the SD of the observed changes. For each effect and target power:
n per arm by the t test (R ``power.t.test``), by Noether's formula for the Wilcoxon-Mann-Whitney test with
p = P(drug-arm change > comparator change) under that shift, and by simulation resampling the observed
changes (seeded). The subgroup comparison (the plan's first two groups, Table 5's between-group test on the
change) gets the power it had for its observed difference, by the t test with unequal arms and by Noether,
and the difference it could have detected with 80 % power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ipafstudy.analysis.dataset import subgroup_levels
from ipafstudy.analysis.results import _ToDict
from ipafstudy.stats import power as pw

CURVE_POINTS = 60
DETECTABLE_POWER = 0.8


@dataclass(frozen=True)
class TrialSize(_ToDict):
    """n per arm for one effect (fraction of the observed mean change) and one target power, by three methods."""

    fraction: float
    effect: float
    power: float
    superiority: float  # Noether's p = P(drug-arm change > comparator change) for this effect (direction-free)
    t_test: Any
    noether: Any
    simulation: Any


@dataclass(frozen=True)
class SubgroupPower(_ToDict):
    """The power the two-group comparison of the change had, for the difference it observed."""

    groups: tuple[str, str]
    labels: tuple[str, str]
    n: tuple[int, int]
    means: tuple[float, float]
    difference: float  # second group minus first
    pooled_sd: float
    power_t_test: float | None
    superiority: float
    power_noether: float | None
    detectable_difference: float | None  # with 80 % power (t test, these arm sizes)


@dataclass(frozen=True)
class PowerCurve(_ToDict):
    """Power against n per arm, per method and effect fraction (what the power-curve figure draws)."""

    n: tuple[int, ...]
    series: tuple[dict[str, Any], ...]  # {"method", "fraction", "effect", "power": (...)}


@dataclass(frozen=True)
class PowerResult(_ToDict):
    outcome: str
    label: str
    unit: str | None
    n_changes: int
    mean_change: float
    sd_change: float
    alpha: float
    simulations: int
    seed: int
    sizes: tuple[TrialSize, ...]
    subgroup: SubgroupPower | None
    curve: PowerCurve
    assumption: str = ("two arms of equal size; comparator arm: mean change 0 with the observed spread; "
                       "effect = fraction x observed mean change")


def _superiority(centred: np.ndarray, effect: float) -> float:
    """P(Y > X) + P(Y = X)/2 with Y = a centred change + |effect| (drug arm) and X a centred change."""
    return pw.superiority_probability(centred, centred + abs(effect))


def _subgroup(data: pd.DataFrame, plan: Any, code: str, alpha: float, notes: Any) -> SubgroupPower | None:
    groups = tuple(plan.subgroup.groups or ())
    if plan.subgroup.variable not in data.columns or f"{code}_change" not in data.columns or len(groups) < 2:
        return None
    if len(groups) > 2:
        notes.add(f"Additional analyses, power of the subgroup comparison: not computed ({len(groups)} groups; the "
                  "power of a two-group comparison is computed only when the plan compares two groups)")
        return None
    levels = subgroup_levels(data, plan.subgroup.variable)
    parts = []
    for g in groups:
        mask = levels.eq(g).fillna(False).to_numpy(dtype=bool)
        parts.append(pd.to_numeric(data.loc[mask, f"{code}_change"], errors="coerce").dropna().to_numpy(float))
    x, y = parts
    if x.size < 2 or y.size < 2:
        notes.add(f"Additional analyses, power of the {groups[0]} vs {groups[1]} comparison: not computed "
                  f"({x.size} and {y.size} patients with a change)")
        return None
    n1, n2 = int(x.size), int(y.size)
    pooled = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    diff = float(y.mean() - x.mean())
    power_t = notes.call("Additional analyses, subgroup power (t test)", pw.t_test_power_unequal, n1, n2, diff,
                         pooled, alpha) if pooled > 0 and diff != 0 else None
    p_sup = pw.superiority_probability(x, y)
    power_n = pw.noether_power(n1, n2, p_sup, alpha)
    detectable = None
    if pooled > 0 and pw.t_test_power_unequal(n1, n2, pooled * 100, pooled, alpha) > DETECTABLE_POWER:
        detectable = float(brentq(lambda d: pw.t_test_power_unequal(n1, n2, d, pooled, alpha) - DETECTABLE_POWER,
                                  pooled * 1e-6, pooled * 100, xtol=1e-12))
    labels = tuple(plan.subgroup.labels.get(g, g) for g in groups)
    return SubgroupPower(groups=groups, labels=labels, n=(n1, n2), means=(float(x.mean()), float(y.mean())),  # type: ignore[arg-type]
                         difference=diff, pooled_sd=float(pooled), power_t_test=power_t, superiority=p_sup,
                         power_noether=power_n, detectable_difference=detectable)


def _curve(sizes: list[TrialSize], sd: float, alpha: float) -> PowerCurve:
    needed = [s.t_test.n_per_arm for s in sizes if s.t_test.n_per_arm] + \
             [s.noether.n_per_arm for s in sizes if s.noether.n_per_arm]
    top = int(min(max(needed, default=100) * 1.3, pw.MAX_N))
    n = tuple(int(v) for v in np.unique(np.round(np.geomspace(2, max(top, 10), CURVE_POINTS))))
    series = []
    seen = set()
    for s in sizes:
        if s.fraction in seen:
            continue
        seen.add(s.fraction)
        series.append({"method": "t test", "fraction": s.fraction, "effect": s.effect,
                       "power": tuple(pw.t_test_power(k, s.effect, sd, alpha) for k in n)})
        series.append({"method": "Wilcoxon-Mann-Whitney (Noether)", "fraction": s.fraction, "effect": s.effect,
                       "power": tuple(pw.noether_power(k, k, s.superiority, alpha) for k in n)})
    return PowerCurve(n=n, series=tuple(series))


def run(ctx: Any) -> PowerResult | None:
    spec = ctx.plan.additional.power
    code = spec.outcome or ctx.plan.primary_outcome
    label = ctx.plan.outcome(code).label
    column = f"{code}_change"
    if column not in ctx.data.columns:
        ctx.notes.add(f"Additional analyses, power: not computed (no {label} change in the dataset)")
        return None
    changes = pd.to_numeric(ctx.data[column], errors="coerce").dropna().to_numpy(float)
    if changes.size < 3:
        ctx.notes.add(f"Additional analyses, power: not computed ({changes.size} patients with a {label} change; "
                      "at least 3 are needed)")
        return None
    mean, sd = float(changes.mean()), float(changes.std(ddof=1))
    if sd == 0 or mean == 0:
        ctx.notes.add(f"Additional analyses, power: not computed (the {label} changes have "
                      + ("no spread" if sd == 0 else "a mean of 0, so there is no effect to plan for") + ")")
        return None
    seed = ctx.plan.statistics.seed
    centred = changes - mean
    sizes = []
    for fraction in spec.effect_fractions:
        effect = fraction * mean
        p_sup = _superiority(centred, effect)
        t_sizes = [pw.t_test_n(effect, sd, target, spec.alpha) for target in spec.power]
        guess = next((t.n_per_arm for t in t_sizes if t.n_per_arm), 2)
        sims = pw.simulated_n(changes, abs(effect), spec.power, alpha=spec.alpha, simulations=spec.simulations,
                              seed=seed, start=guess)
        for target, t, sim in zip(spec.power, t_sizes, sims, strict=True):
            sizes.append(TrialSize(fraction=float(fraction), effect=float(effect), power=float(target),
                                   superiority=p_sup, t_test=t, noether=pw.noether_n(p_sup, target, spec.alpha),
                                   simulation=sim))
    return PowerResult(
        outcome=code, label=label, unit=ctx.plan.outcome(code).unit, n_changes=int(changes.size),
        mean_change=mean, sd_change=sd, alpha=spec.alpha, simulations=spec.simulations, seed=seed,
        sizes=tuple(sizes), subgroup=_subgroup(ctx.data, ctx.plan, code, spec.alpha, ctx.notes),
        curve=_curve(sizes, sd, spec.alpha),
    )
