"""A/B experiments: per-variant conversion with honest statistics, standard library only.

Every number a report shows comes with its uncertainty:

* a variant's conversion rate with its Wilson score interval (:func:`proportion_interval`);
* each treatment's difference from the control with Newcombe's hybrid score interval
  (:func:`difference_interval`) and the two-sided p-value of the pooled two-proportion z-test
  (:func:`two_proportion_test`, the same test as Pearson's chi-square on the 2x2 table, without
  continuity correction: z² is the chi-square statistic);
* a warning while the sample is too small to detect the minimum effect the experiment was
  designed for (:func:`sample_size_per_variant`).

With more than one treatment, :func:`compare` adjusts the p-values of one experiment with Holm's
step-down correction, so the chance of any false "significant" stays at ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "Comparison",
    "ExperimentResult",
    "VariantResult",
    "compare",
    "difference_interval",
    "proportion_interval",
    "sample_size_per_variant",
    "two_proportion_test",
]

_NORMAL = NormalDist()


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return _NORMAL.inv_cdf(0.5 + confidence / 2.0)


def proportion_interval(
    successes: int, trials: int, confidence: float = 0.95
) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``successes / trials``.

    Why Wilson rather than the textbook "p ± z·√(p(1−p)/n)" (Wald): Wald's interval collapses to
    a single point at 0% and 100% (0 of 10 would be "0% ± 0"), can leave [0, 1], and covers the
    true rate far less often than promised with small samples or rates near 0 or 1. Wilson's
    interval inverts the score test instead; its coverage stays close to the nominal level in
    exactly those cases, and it always lies within [0, 1].

    Raises ``ValueError`` for zero trials: no users, no interval.
    """
    _check_counts(successes, trials)
    if trials == 0:
        raise ValueError("no trials: a proportion of nothing has no interval")
    z = _z(confidence)
    p = successes / trials
    z2n = z * z / trials
    center = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / trials + z2n / (4.0 * trials))
    # Exact at the boundaries (the formula gives them only up to rounding).
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == trials else min(1.0, center + half)
    return low, high


def difference_interval(
    s_a: int, n_a: int, s_b: int, n_b: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p_b − p_a`` (Newcombe 1998, method 10).

    Built from the two Wilson intervals ``(l_a, u_a)`` and ``(l_b, u_b)``::

        low  = d − √((p_b − l_b)² + (u_a − p_a)²)
        high = d + √((u_b − p_b)² + (p_a − l_a)²)

    It inherits Wilson's good behaviour near 0% and 100% and with small samples, where the
    Wald difference interval is too narrow. Raises ``ValueError`` if either side has no trials.
    """
    l_a, u_a = proportion_interval(s_a, n_a, confidence)
    l_b, u_b = proportion_interval(s_b, n_b, confidence)
    p_a, p_b = s_a / n_a, s_b / n_b
    d = p_b - p_a
    low = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    high = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    return max(-1.0, low), min(1.0, high)


def two_proportion_test(s_a: int, n_a: int, s_b: int, n_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``p_a = p_b``.

    Equivalent to Pearson's chi-square test on the 2x2 table without continuity correction.
    When the pooled rate is 0% or 100% the difference has no variance and there is no evidence
    of any difference: the p-value is 1.0. Raises ``ValueError`` if either side has no trials.
    """
    _check_counts(s_a, n_a)
    _check_counts(s_b, n_b)
    if n_a == 0 or n_b == 0:
        raise ValueError("no trials in one group: nothing to test")
    pooled = (s_a + s_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if variance <= 0.0:
        return 1.0
    z = (s_b / n_b - s_a / n_a) / math.sqrt(variance)
    # 2·(1 − Φ(|z|)) = erfc(|z|/√2), computed directly: NormalDist.cdf goes through erf and
    # would round every p-value below ~1e-17 to exactly 0.
    return min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))


def sample_size_per_variant(
    base_rate: float, min_effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per variant needed to detect an absolute change of ``min_effect`` from ``base_rate``.

    The standard formula for the two-sided pooled two-proportion test with equal groups
    (Fleiss, without continuity correction), with ``p1 = base_rate`` and ``p2 = p1 + min_effect``
    (or ``p1 − min_effect`` when the increase would pass 100%), ``p̄`` their mean::

        n = (z_{1−α/2}·√(2·p̄·(1−p̄)) + z_{power}·√(p1·(1−p1) + p2·(1−p2)))² / min_effect²

    rounded up. Example: 10% base, 5 points, α = 0.05, power 0.8 → 686 per variant.
    """
    if not 0.0 <= base_rate <= 1.0:
        raise ValueError(f"base_rate must be within [0, 1], got {base_rate}")
    if not 0.0 < min_effect < 1.0:
        raise ValueError(f"min_effect must be an absolute difference in (0, 1), got {min_effect}")
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha} and {power}")
    p1 = base_rate
    p2 = p1 + min_effect
    if p2 > 1.0:
        p2 = p1 - min_effect
        if p2 < 0.0:
            raise ValueError(f"no rate differs from {base_rate} by {min_effect}")
    mean = (p1 + p2) / 2.0
    z_alpha = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    z_power = _NORMAL.inv_cdf(power)
    root = z_alpha * math.sqrt(2.0 * mean * (1.0 - mean)) + z_power * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    # Round away float noise before the ceiling, so an exact integer is not bumped up by one.
    return max(1, math.ceil(round(root * root / (min_effect * min_effect), 9)))


@dataclass(frozen=True)
class VariantResult:
    """One variant: its counts, its rate (None without users) and the rate's Wilson interval."""

    name: str
    conversions: int
    users: int
    rate: float | None
    interval: tuple[float, float] | None


@dataclass(frozen=True)
class Comparison:
    """One treatment against the control.

    ``difference`` is ``rate(variant) − rate(control)`` with its Newcombe interval (unadjusted,
    at ``1 − alpha`` confidence). ``p_value`` is Holm-adjusted across the experiment's
    comparisons (equal to ``raw_p_value`` when there is only one); ``significant`` is
    ``p_value < alpha``. All four are None, and ``significant`` False, when either side has no
    users. ``warning`` is one English sentence, or None.
    """

    variant: str
    control: str
    difference: float | None
    interval: tuple[float, float] | None
    raw_p_value: float | None
    p_value: float | None
    significant: bool
    warning: str | None


@dataclass(frozen=True)
class ExperimentResult:
    """Every variant in input order, and each treatment compared with the control."""

    variants: tuple[VariantResult, ...]
    control: str
    comparisons: tuple[Comparison, ...]
    alpha: float
    min_effect: float | None
    required_per_variant: int | None
    warnings: tuple[str, ...]

    def variant(self, name: str) -> VariantResult:
        """The result of the variant called ``name``."""
        for result in self.variants:
            if result.name == name:
                return result
        raise KeyError(name)

    def comparison(self, name: str) -> Comparison:
        """The comparison of treatment ``name`` with the control."""
        for result in self.comparisons:
            if result.variant == name:
                return result
        raise KeyError(name)


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _points(effect: float) -> str:
    return f"{round(effect * 100.0, 6):g}"


def compare(
    variants: Mapping[str, tuple[int, int]],
    *,
    control: str | None = None,
    min_effect: float | None = None,
    alpha: float = 0.05,
) -> ExperimentResult:
    """Per-variant results of one experiment, each treatment compared with the control.

    ``variants`` maps a name to ``(conversions, users)``; ``control`` defaults to the first.

    Multiple comparisons: with several treatments the p-values ARE adjusted, with Holm's
    step-down correction over the comparisons of this experiment that could be tested (both
    sides have users). It controls the family-wise error rate at ``alpha`` with no assumption
    about dependence, and is uniformly more powerful than Bonferroni. ``raw_p_value`` keeps the
    unadjusted value; the difference intervals are NOT adjusted (each is a plain 1 − alpha
    interval), so with several treatments an interval may exclude 0 while the adjusted p-value
    is not significant.

    Warnings: a comparison where either side has no users gets no test and says so. When
    ``min_effect`` (an absolute difference, 0.05 = 5 points) is given, a comparison whose
    smaller side has fewer users than :func:`sample_size_per_variant` needs at the control's
    observed rate (0.5, the most demanding rate, while the control has no users) is flagged as
    underpowered: a non-significant result there is not evidence of no effect.
    """
    if not variants:
        raise ValueError("an experiment needs at least one variant")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    names = list(variants)
    control_name = names[0] if control is None else control
    if control_name not in variants:
        raise ValueError(f"control {control_name!r} is not one of the variants {names}")

    results = [_variant_result(name, *variants[name], alpha) for name in names]
    by_name = {result.name: result for result in results}
    base = by_name[control_name]

    required: int | None = None
    if min_effect is not None:
        base_rate = 0.5 if base.rate is None else base.rate
        required = sample_size_per_variant(base_rate, min_effect, alpha)

    warnings: list[str] = []
    if len(names) == 1:
        warnings.append(f"only one variant ({control_name!r}): there is nothing to compare")

    treatments = [by_name[name] for name in names if name != control_name]
    comparisons, said = _compare_treatments(base, treatments, alpha, min_effect, required)
    warnings += said
    return ExperimentResult(
        variants=tuple(results),
        control=control_name,
        comparisons=tuple(comparisons),
        alpha=alpha,
        min_effect=min_effect,
        required_per_variant=required,
        warnings=tuple(warnings),
    )


def _variant_result(name: str, conversions: int, users: int, alpha: float) -> VariantResult:
    """One variant's rate and its Wilson interval at ``1 − alpha`` (both None without users)."""
    _check_counts(conversions, users)
    if users == 0:
        return VariantResult(name, conversions, users, None, None)
    interval = proportion_interval(conversions, users, 1.0 - alpha)
    return VariantResult(name, conversions, users, conversions / users, interval)


def _compare_treatments(
    base: VariantResult,
    treatments: list[VariantResult],
    alpha: float,
    min_effect: float | None,
    required: int | None,
) -> tuple[list[Comparison], list[str]]:
    """Each treatment against the control, the p-values Holm-adjusted across those that can be
    tested; and the warnings, in treatment order."""
    raw = {
        t.name: two_proportion_test(base.conversions, base.users, t.conversions, t.users)
        for t in treatments
        if base.users and t.users
    }
    adjusted = dict(zip(raw, _holm(list(raw.values())), strict=True))
    comparisons: list[Comparison] = []
    warnings: list[str] = []
    for treated in treatments:
        if treated.name in raw:
            p_values = (raw[treated.name], adjusted[treated.name])
            comparison = _tested(base, treated, p_values, alpha, min_effect, required)
            said = (
                comparison.warning and f"{treated.name!r} vs {base.name!r}: {comparison.warning}"
            )
        else:
            comparison = _untested(base, treated)
            said = comparison.warning  # it names both sides already
        comparisons.append(comparison)
        if said:
            warnings.append(said)
    return comparisons, warnings


def _untested(base: VariantResult, treated: VariantResult) -> Comparison:
    """A treatment that cannot be compared with the control: one side has no users yet."""
    empty = [r.name for r in (base, treated) if r.users == 0]
    untested = (
        f"no users yet in {' and '.join(repr(e) for e in empty)}: "
        f"{treated.name!r} cannot be compared with {base.name!r}"
    )
    return Comparison(treated.name, base.name, None, None, None, None, False, untested)


def _tested(
    base: VariantResult,
    treated: VariantResult,
    p_values: tuple[float, float],
    alpha: float,
    min_effect: float | None,
    required: int | None,
) -> Comparison:
    """A treatment against the control; ``p_values`` is (raw, Holm-adjusted)."""
    assert base.rate is not None
    assert treated.rate is not None
    smallest = min(base.users, treated.users)
    warning: str | None = None
    if required is not None and min_effect is not None and smallest < required:
        warning = (
            f"too few users to detect a {_points(min_effect)}-point difference: "
            f"{required:,} per variant needed, {smallest:,} so far"
        )
    raw, adjusted = p_values
    return Comparison(
        variant=treated.name,
        control=base.name,
        difference=treated.rate - base.rate,
        interval=difference_interval(
            base.conversions,
            base.users,
            treated.conversions,
            treated.users,
            1.0 - alpha,
        ),
        raw_p_value=raw,
        p_value=adjusted,
        significant=adjusted < alpha,
        warning=warning,
    )
