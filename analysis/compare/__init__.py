"""Differential evidence: several sessions compared by a condition (`privlab compare --by consent`).

`stats` holds Fisher's exact test and the consistency wording; `table` builds the comparison from each
session's analysed evidence. The comparison report is written by `analysis.report.compare`.
"""
