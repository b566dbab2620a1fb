"""Tuning: the Optuna sweep over cluster counts and facet weights (`ensemble-fit sweep`).

Kept apart by job, as Optuna lays out its own package: the search space
(`space`), a trial's objective and its fixed yardstick (`objective`,
`yardstick`), the sampler (`samplers`), storage URLs and trial bookkeeping
(`storage`), running and summarizing a study (`study`) and what a sweep
writes (`outputs`). The command itself is `ensemble.cli.sweep`.
"""
