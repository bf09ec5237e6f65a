"""The statistics a comparison states: consistency across runs and Fisher's exact test.

Fisher's exact test is computed here from the hypergeometric distribution (a 2x2 table is small enough
to sum exactly), so the p-value a report prints can be checked by hand or against any statistics package.
"""

from __future__ import annotations

from math import comb


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the 2x2 table [[a, b], [c, d]].

    Rows are the two groups, columns "seen" and "not seen". The two-sided p-value sums the probabilities
    of every table with the same margins that is no more likely than the one observed (the usual
    definition, as in R's `fisher.test` and SciPy's `fisher_exact`).
    """
    if min(a, b, c, d) < 0:
        raise ValueError("a 2x2 table holds counts, not negative numbers")
    row1, col1, n = a + b, a + c, a + b + c + d
    if n == 0:
        return 1.0
    total = comb(n, col1)

    def prob(x: int) -> float:
        return comb(row1, x) * comb(n - row1, col1 - x) / total

    observed = prob(a)
    lo, hi = max(0, col1 - (n - row1)), min(row1, col1)
    # A relative tolerance so tables as likely as the observed one are counted despite rounding.
    p = sum(q for q in (prob(x) for x in range(lo, hi + 1)) if q <= observed * (1 + 1e-7))
    return min(1.0, p)


def consistency(seen: int, runs: int) -> str:
    """`sent in 5 of 5 runs`-style wording of how often a behaviour showed."""
    return f"{seen} of {runs} run{'s' if runs != 1 else ''}"
