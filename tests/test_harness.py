import json
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks import run
from hbclf import pipelines
from hbclf.metrics import binary_scores, challenge_a, challenge_b, score_task


def read_summary(out, task):
    return pd.read_csv(out / task / "summary.csv", index_col=0).drop(
        columns=["fit_seconds_mean", "fit_seconds_std"])


def test_quick_run_writes_every_table_and_resumes(tmp_path, capsys):
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "a", "--out", str(out), "--quiet"]) == 0
    tdir = out / "a"
    for name in ["summary.csv", "summary.md", "folds_scores.csv", "oof_predictions.csv",
                 "folds.csv", "comparison.png", "confusion_cnn.png", "confusion_logreg.png"]:
        assert (tdir / name).is_file(), name
    summary = pd.read_csv(tdir / "summary.csv", index_col=0)
    assert list(summary.index) == ["dummy", "logreg", "svm", "cnn"]
    assert summary.loc["dummy", "balanced_accuracy_mean"] == pytest.approx(0.25)
    assert summary.loc["logreg", "balanced_accuracy_mean"] > 0.4
    per_fold = pd.read_csv(tdir / "folds_scores.csv")
    assert len(per_fold) == 4 * 2
    oof = pd.read_csv(tdir / "oof_predictions.csv")
    assert oof["logreg"].notna().all() and len(oof) == 124
    proba = oof[[f"logreg_score_{c}" for c in ("artifact", "extrahls", "murmur", "normal")]]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)

    runs = sorted((out / "runs").rglob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in runs}
    capsys.readouterr()
    assert run.main(["--quick", "--task", "a", "--out", str(out), "--quiet"]) == 0
    assert {p: p.stat().st_mtime_ns for p in runs} == stamps  # nothing recomputed
    assert "bacc=" not in capsys.readouterr().out
    assert run.main(["--quick", "--task", "a", "--models", "dummy", "--force",
                     "--out", str(out), "--quiet"]) == 0
    assert (out / "runs/a/dummy/fold0.json").stat().st_mtime_ns != stamps[
        out / "runs/a/dummy/fold0.json"]


def test_folds_keep_patients_apart_and_same_seed_same_table(tmp_path):
    args = ["--quick", "--task", "b", "--models", "dummy,logreg,knn", "--quiet"]
    assert run.main(args + ["--out", str(tmp_path / "one")]) == 0
    assert run.main(args + ["--out", str(tmp_path / "two")]) == 0
    pd.testing.assert_frame_equal(read_summary(tmp_path / "one", "b"),
                                  read_summary(tmp_path / "two", "b"))
    folds = pd.read_csv(tmp_path / "one" / "b" / "folds.csv")
    assert (folds.groupby("group")["fold"].nunique() == 1).all()
    assert run.main(args + ["--seed", "1", "--out", str(tmp_path / "three")]) == 0
    other = pd.read_csv(tmp_path / "three" / "b" / "folds.csv")
    assert not np.array_equal(other["fold"], folds["fold"])


def test_nested_search_reports_chosen_parameters(tmp_path):
    assert run.main(["--quick", "--task", "a", "--models", "logreg", "--search",
                     "--out", str(tmp_path), "--quiet"]) == 0
    rec = json.loads((tmp_path / "runs/a/logreg/fold0.json").read_text())
    assert set(rec["params"]) == {"clf__C"}
    per_fold = pd.read_csv(tmp_path / "a" / "folds_scores.csv")
    assert per_fold["params"].str.contains("clf__C").all()


def test_binary_task_has_auc_and_macc(tmp_path):
    assert run.main(["--quick", "--task", "binary", "--models", "dummy,logreg,svm",
                     "--out", str(tmp_path), "--quiet"]) == 0
    s = pd.read_csv(tmp_path / "binary" / "summary.csv", index_col=0)
    assert s.loc["dummy", "roc_auc_mean"] == pytest.approx(0.5)
    assert s.loc["logreg", "roc_auc_mean"] > 0.6 and s.loc["svm", "roc_auc_mean"] > 0.6
    np.testing.assert_allclose(s["macc_mean"], (s["sensitivity_mean"] + s["specificity_mean"]) / 2, atol=1e-4)


def test_a_bad_recording_stops_the_run_and_writes_nothing(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    real = run.task_data

    def with_bad_file(task, data_home=None):
        files, y, groups = real(task, data_home)
        files = files.copy()
        files[5] = str(bad)
        return files, y, groups

    monkeypatch.setattr(run, "task_data", with_bad_file)
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "a", "--models", "dummy", "--out", str(out),
                     "--quiet"]) == 1
    assert "broken.wav: not a readable audio file" in capsys.readouterr().err
    assert not (out / "runs").exists() and not (out / "a" / "summary.csv").exists()


def test_dask_cluster_gives_the_same_table(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    args = ["--quick", "--task", "a", "--models", "dummy,logreg,rf", "--quiet"]
    assert run.main(args + ["--out", str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert run.main(args + ["--out", str(tmp_path / "dask"),
                                "--scheduler", cluster.scheduler_address]) == 0
    pd.testing.assert_frame_equal(read_summary(tmp_path / "local", "a"),
                                  read_summary(tmp_path / "dask", "a"))


def test_registry():
    assert pipelines.names() == ["dummy", "logreg", "svm", "rf", "knn", "gb", "logreg_rhythm",
                                 "svm_rhythm", "cnn", "rnn"]
    feats, model = pipelines.split_stateless(pipelines.make("svm_rhythm"))
    assert [n for n, _ in feats.steps] == ["features"]
    assert [n for n, _ in model.steps] == ["impute", "scale", "clf"]
    feats, model = pipelines.split_stateless(pipelines.make("rf"))
    assert [n for n, _ in feats.steps] == ["mfcc", "summary"]
    assert [n for n, _ in model.steps] == ["scale", "clf"]
    with pytest.raises(ValueError, match="unknown model"):
        pipelines.make("transformer")


def test_challenge_measures_on_known_predictions():
    y = np.array(["normal"] * 4 + ["murmur"] * 2 + ["extrastole"] * 2)
    assert challenge_b(y, y)["total_precision"] == pytest.approx(1.0)
    assert challenge_b(y, y)["discriminant_power"] > 0
    pred = y.copy()
    pred[0] = "murmur"  # one normal called a problem
    pred[6] = "normal"  # one extrasystole missed
    b = challenge_b(y, pred)
    assert b["problem_sensitivity"] == pytest.approx(3 / 4)
    assert b["problem_specificity"] == pytest.approx(3 / 4)
    assert b["youden"] == pytest.approx(0.5)
    assert b["precision_normal"] == pytest.approx(3 / 4)
    assert b["precision_murmur"] == pytest.approx(2 / 3)
    se_c, sp_c = 3.5 / 5, 3.5 / 5  # continuity-corrected 3/4 and 3/4
    dp = math.sqrt(3) / math.pi * (math.log10(se_c / (1 - se_c)) + math.log10(sp_c / (1 - sp_c)))
    assert b["discriminant_power"] == pytest.approx(dp)
    assert b["total_precision"] == pytest.approx((136 * 0.75 + 39 * 2 / 3 + 20 * 1.0) / 195)

    ya = np.array(["normal", "murmur", "extrahls", "artifact", "artifact"])
    pa = np.array(["normal", "extrahls", "extrahls", "artifact", "normal"])
    a = challenge_a(ya, pa)
    assert a["artifact_sensitivity"] == 0.5 and a["artifact_specificity"] == 1.0
    assert a["heart_problem_f"] == pytest.approx(1.0)  # both problems flagged as problems
    assert a["precision_normal"] == 0.5

    yb = np.array(["normal", "normal", "abnormal", "abnormal"])
    s = binary_scores(yb, np.array(["normal", "abnormal", "abnormal", "abnormal"]),
                      [0.1, 0.6, 0.7, 0.9])
    assert s["sensitivity"] == 1.0 and s["specificity"] == 0.5 and s["macc"] == 0.75
    assert s["roc_auc"] == 1.0
    assert score_task("a", ya, ya)["balanced_accuracy"] == 1.0
