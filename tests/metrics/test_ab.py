"""A/B statistics: published values, planted effects recovered, and no effect found too often
where none was planted."""

from __future__ import annotations

import math
import random

import pytest

from botkit.metrics.ab import (
    compare,
    difference_interval,
    proportion_interval,
    sample_size_per_variant,
    two_proportion_test,
)


def simulate(rng: random.Random, rates: dict[str, float], users: int) -> dict[str, list[int]]:
    """Assign ``users`` to the variants uniformly at random; each converts at its variant's rate.
    Returns ``{name: [conversions, users]}``."""
    counts = {name: [0, 0] for name in rates}
    names = list(rates)
    for _ in range(users):
        name = rng.choice(names)
        counts[name][1] += 1
        counts[name][0] += rng.random() < rates[name]
    return counts


# --- known values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        (0, 10, (0.0, 0.2775)),  # Newcombe 1998, Table I
        (10, 10, (0.7225, 1.0)),
        (50, 100, (0.4038, 0.5962)),
        (81, 263, (0.2553, 0.3662)),  # Newcombe 1998 (Wilson, method 3)
    ],
)
def test_wilson_interval_matches_published_values(successes, trials, expected):
    low, high = proportion_interval(successes, trials)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_interval_stays_within_zero_and_one_and_contains_the_rate():
    for trials in (1, 2, 7, 30):
        for successes in range(trials + 1):
            low, high = proportion_interval(successes, trials)
            assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_interval_narrows_with_confidence_and_rejects_nonsense():
    assert proportion_interval(5, 20, 0.90)[1] < proportion_interval(5, 20, 0.99)[1]
    for bad in [(0, 0), (11, 10), (-1, 10)]:
        with pytest.raises(ValueError, match="trials"):
            proportion_interval(*bad)
    with pytest.raises(ValueError, match="confidence"):
        proportion_interval(1, 2, 1.5)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe 1998, Table II, method 10; difference p_b − p_a with (s_a, n_a, s_b, n_b)
        ((48, 80, 56, 70), (0.0524, 0.3339)),
        ((3, 10, 9, 10), (0.1705, 0.8090)),
        ((0, 29, 5, 56), (-0.0381, 0.1926)),
        ((0, 20, 0, 10), (-0.1611, 0.2775)),
        ((0, 20, 10, 10), (0.6791, 1.0)),
        ((0, 10, 10, 10), (0.6075, 1.0)),
    ],
)
def test_newcombe_difference_interval_matches_published_values(counts, expected):
    low, high = difference_interval(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_newcombe_difference_of_the_textbook_example_is_point_two():
    s_a, n_a, s_b, n_b = 48, 80, 56, 70
    assert s_b / n_b - s_a / n_a == pytest.approx(0.2)
    low, high = difference_interval(s_b, n_b, s_a, n_a)  # swapped sides: mirrored interval
    assert (round(low, 4), round(high, 4)) == (-0.3339, -0.0524)


def test_z_test_p_value_of_a_worked_example():
    # 45/100 vs 56/100: pooled 0.505, z = 0.11 / √(0.505·0.495·0.02) = 1.5557, p = 0.1198
    assert two_proportion_test(45, 100, 56, 100) == pytest.approx(0.1198, abs=5e-5)
    # 10% vs 15% of 1,000 each: z = 3.38, p = 0.00072
    assert two_proportion_test(100, 1000, 150, 1000) == pytest.approx(0.00072, abs=5e-6)


@pytest.mark.parametrize("counts", [(48, 80, 56, 70), (3, 10, 9, 10), (120, 1000, 95, 900)])
def test_z_test_equals_pearson_chi_square_on_the_two_by_two_table(counts):
    s_a, n_a, s_b, n_b = counts
    table = [[s_a, n_a - s_a], [s_b, n_b - s_b]]
    total = n_a + n_b
    columns = [s_a + s_b, total - s_a - s_b]
    chi2 = sum(
        (table[i][j] - rows * columns[j] / total) ** 2 / (rows * columns[j] / total)
        for i, rows in enumerate((n_a, n_b))
        for j in range(2)
    )
    # the chi-square distribution with one degree of freedom: P(X > x) = erfc(√(x/2))
    assert two_proportion_test(*counts) == pytest.approx(math.erfc(math.sqrt(chi2 / 2)))


def test_z_test_without_variance_is_not_evidence_of_anything():
    assert two_proportion_test(0, 50, 0, 70) == 1.0
    assert two_proportion_test(50, 50, 70, 70) == 1.0
    assert 0.0 < two_proportion_test(0, 50, 50, 50) < 1e-20  # tiny, but not rounded to 0
    with pytest.raises(ValueError, match="no trials"):
        two_proportion_test(0, 0, 3, 10)


def test_sample_size_matches_the_standard_formula_value():
    assert sample_size_per_variant(0.10, 0.05) == 686  # 10% → 15%, α 0.05, power 0.8
    assert sample_size_per_variant(0.50, 0.10) == 388
    assert sample_size_per_variant(0.10, 0.05, power=0.9) > 686
    assert sample_size_per_variant(1.0, 0.05) == sample_size_per_variant(0.95, 0.05)
    with pytest.raises(ValueError, match="min_effect"):
        sample_size_per_variant(0.1, 0.0)


# --- planted effect and calibration ------------------------------------------------------------


def test_planted_five_point_effect_is_recovered_from_ten_thousand_users():
    planted = {"A": 0.10, "B": 0.15}
    counts = simulate(random.Random(20240808), planted, 10_000)
    result = compare({k: (c, n) for k, (c, n) in counts.items()}, min_effect=0.05)

    for variant in result.variants:
        assert variant.interval is not None
        low, high = variant.interval
        assert low <= planted[variant.name] <= high
    (b_vs_a,) = result.comparisons
    assert (b_vs_a.variant, b_vs_a.control) == ("B", "A")
    assert b_vs_a.interval is not None
    assert b_vs_a.interval[0] <= 0.05 <= b_vs_a.interval[1]
    assert b_vs_a.p_value is not None
    assert b_vs_a.p_value < 0.05
    assert b_vs_a.significant
    assert b_vs_a.warning is None
    assert result.warnings == ()


def test_no_planted_effect_is_called_significant_about_alpha_of_the_time():
    rng = random.Random(8)
    runs = 200
    significant = 0
    for _ in range(runs):
        a = sum(rng.random() < 0.10 for _ in range(1000))
        b = sum(rng.random() < 0.10 for _ in range(1000))
        significant += compare({"A": (a, 1000), "B": (b, 1000)}).comparisons[0].significant
    # ≤ 7%: the test does not cry wolf; ≥ 1%: a test that never rejects would fail here too.
    assert 0.01 * runs <= significant <= 0.07 * runs


# --- compare: warnings, edge cases, several treatments ----------------------------------------


def test_small_sample_warns_with_needed_and_actual_counts():
    result = compare({"A": (31, 312), "B": (40, 320)}, min_effect=0.05)
    (comparison,) = result.comparisons
    needed = sample_size_per_variant(31 / 312, 0.05)
    assert comparison.warning == (
        f"too few users to detect a 5-point difference: {needed:,} per variant needed, 312 so far"
    )
    assert result.required_per_variant == needed
    assert comparison.p_value is not None  # still tested, just flagged
    assert result.warnings == (f"'B' vs 'A': {comparison.warning}",)


def test_thousands_separator_and_fractional_points_in_the_warning():
    result = compare({"A": (500, 1000), "B": (510, 1000)}, min_effect=0.025)
    warning = result.comparisons[0].warning
    assert warning is not None
    assert warning.startswith("too few users to detect a 2.5-point difference: 6,")
    assert warning.endswith("per variant needed, 1,000 so far")


def test_zero_user_variant_has_no_rate_no_test_and_a_warning():
    result = compare({"A": (30, 300), "B": (0, 0)}, min_effect=0.05)
    assert result.variant("B").rate is None
    assert result.variant("B").interval is None
    comparison = result.comparison("B")
    assert comparison.difference is None
    assert comparison.p_value is None
    assert not comparison.significant
    assert comparison.warning == "no users yet in 'B': 'B' cannot be compared with 'A'"


def test_zero_user_control_falls_back_to_the_most_demanding_base_rate():
    result = compare({"A": (0, 0), "B": (5, 50)}, min_effect=0.05)
    assert result.required_per_variant == sample_size_per_variant(0.5, 0.05)
    assert result.comparison("B").warning == "no users yet in 'A': 'B' cannot be compared with 'A'"


def test_zero_and_hundred_percent_rates():
    result = compare({"A": (0, 200), "B": (200, 200)})
    assert result.variant("A").rate == 0.0
    zero, hundred = result.variant("A").interval, result.variant("B").interval
    assert zero is not None
    assert hundred is not None
    assert (zero[0], round(zero[1], 4)) == (0.0, 0.0188)
    assert (round(hundred[0], 4), hundred[1]) == (0.9812, 1.0)
    assert result.comparison("B").difference == 1.0
    assert result.comparison("B").significant

    both_zero = compare({"A": (0, 200), "B": (0, 200)}).comparison("B")
    assert both_zero.p_value == 1.0
    assert not both_zero.significant


def test_one_variant_only_reports_it_and_compares_nothing():
    result = compare({"A": (12, 100)})
    assert result.variant("A").rate == 0.12
    assert result.comparisons == ()
    assert result.warnings == ("only one variant ('A'): there is nothing to compare",)


def test_control_can_be_named_and_must_exist():
    result = compare({"B": (15, 100), "A": (10, 100)}, control="A")
    assert [c.variant for c in result.comparisons] == ["B"]
    assert result.comparison("B").difference == pytest.approx(0.05)
    with pytest.raises(ValueError, match="control 'C'"):
        compare({"A": (1, 10)}, control="C")
    with pytest.raises(ValueError, match="at least one"):
        compare({})


def test_holm_adjusts_p_values_across_three_treatments():
    counts = {"A": (100, 1000), "B": (130, 1000), "C": (128, 1000), "D": (108, 1000)}
    result = compare(counts)
    raw = {
        c.variant: two_proportion_test(100, 1000, *counts[c.variant]) for c in result.comparisons
    }
    smallest, middle, largest = sorted(raw, key=raw.__getitem__)
    expected = {smallest: 3 * raw[smallest]}
    expected[middle] = max(expected[smallest], 2 * raw[middle])
    expected[largest] = min(1.0, max(expected[middle], raw[largest]))

    for comparison in result.comparisons:
        assert comparison.raw_p_value == pytest.approx(raw[comparison.variant])
        assert comparison.p_value == pytest.approx(expected[comparison.variant])
        assert comparison.p_value is not None
        assert comparison.significant == (comparison.p_value < 0.05)
    # C is "significant" on its own but not once three comparisons are accounted for
    c = result.comparison("C")
    assert c.raw_p_value is not None
    assert c.raw_p_value < 0.05
    assert not c.significant


def test_holm_leaves_a_single_comparison_unadjusted_and_skips_untestable_ones():
    result = compare({"A": (100, 1000), "B": (130, 1000), "C": (0, 0)})
    b = result.comparison("B")
    assert b.p_value == b.raw_p_value
