"""Explaining a run: cluster labels and statuses (explain), plots, the simulator map, and the report."""
from ensemble.report.render import print_explain_summary, write_report

__all__ = ["write_report", "print_explain_summary"]
