"""Probes: scripts that answer one question on the main job's folds, outside the main job.

docs/findings.md quotes what they print. The probes that read the main job's feature cache
share their options (:func:`cache_parser`) and their way in (:func:`cached_features`).
"""

import argparse


def cache_parser(doc):
    """The argument parser of a probe on the main job's feature cache, described by the first
    line of ``doc``: ``--physionet-home``, ``--results`` (the main job's results directory, whose
    ``.cache`` is read) and ``--n-jobs``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--physionet-home")
    ap.add_argument("--results", default="results")
    ap.add_argument("--n-jobs", type=int, default=2)
    return ap


def cached_features(model, files, args):
    """Registry ``model`` split into its stateless featurizer and the rest (its head), and the
    featurizer's table of ``files`` from the main job's cache (what is missing is computed and
    cached): ``(featurizer, head, table)``. ``args`` are :func:`cache_parser`'s."""
    from benchmarks.records import code_digest, extract
    from hbclf import pipelines

    featurizer, head = pipelines.split_stateless(pipelines.make(model))
    table = extract(featurizer, files, f"{args.results}/.cache", code_digest(),
                    n_jobs=args.n_jobs)
    return featurizer, head, table
