"""Evaluation helpers shared by the pipelines (metrics and their plots)."""
