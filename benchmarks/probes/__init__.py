"""Probes: scripts that answer one question on the main job's folds, outside the main job.

docs/findings.md quotes what they print.
"""
