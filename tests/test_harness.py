import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.base import BaseEstimator, TransformerMixin

from benchmarks import run
from hbclf import pipelines, tasks
from hbclf.base import LearnsNothingMixin
from hbclf.datasets import load_pascal
from hbclf.metrics import binary_scores, challenge_a, challenge_b, score_task

Q = "grouped-2-fold"  # the protocol of a --quick PASCAL run


def read_summary(out, task):
    return pd.read_csv(out / task / Q / "summary.csv", index_col=0)


def test_quick_run_writes_every_table_and_resumes(tmp_path, capsys):
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "a", "--out", str(out), "--quiet"]) == 0
    tdir = out / "a" / Q
    for name in ["summary.csv", "summary.md", "folds_scores.csv", "oof_predictions.csv",
                 "folds.csv", "comparison.png", "confusion_cnn.png", "confusion_logreg.png",
                 "reliability.png"]:
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
    assert (out / f"runs/a/{Q}/dummy/fold0.json").stat().st_mtime_ns != stamps[
        out / f"runs/a/{Q}/dummy/fold0.json"]


def test_timings_are_kept_out_of_the_compared_files(tmp_path):
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "a", "--models", "dummy,logreg", "--out", str(out),
                     "--quiet"]) == 0
    timings = pd.read_csv(out / "timings.csv")
    assert len(timings) == 4 and (timings["seconds"] >= 0).all()
    rec = json.loads((out / f"runs/a/{Q}/logreg/fold0.json").read_text())
    assert not any("seconds" in key for key in rec)
    for name in ("summary.csv", "summary.md", "folds_scores.csv"):
        assert "seconds" not in (out / "a" / Q / name).read_text(), name
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix != ".pkl"
              and ".cache" not in p.parts and p.name != "timings.csv"}
    assert run.main(["--quick", "--task", "a", "--models", "dummy,logreg", "--force",
                     "--out", str(out), "--quiet"]) == 0
    after = {p: p.read_bytes() for p in before}
    assert [p.name for p in before if before[p] != after[p]] == []  # recomputed, same bytes


def test_partial_and_quick_runs_never_write_the_committed_results(tmp_path, monkeypatch):
    committed, partial = tmp_path / "results", tmp_path / "results-partial"
    monkeypatch.setattr(run, "DEFAULT_OUT", committed)
    monkeypatch.setattr(run, "PARTIAL_OUT", partial)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    for args in (["--quick"], ["--task", "a", "--models", "dummy"],
                 ["--models", "dummy", "--task", "a", "--cv", "3"]):
        args, _, _ = run.parse_args(args)
        assert Path(args.out) == partial and not args.documented
    args, _, _ = run.parse_args([])
    assert Path(args.out) == committed and args.documented
    assert run.main(["--quick", "--task", "a", "--models", "dummy", "--quiet"]) == 0
    assert (partial / "a" / Q / "summary.csv").is_file() and not committed.exists()


def test_a_changed_model_or_code_invalidates_exactly_its_folds(tmp_path, monkeypatch):
    out = tmp_path / "r"
    args = ["--quick", "--task", "a", "--models", "dummy,logreg", "--out", str(out), "--quiet"]
    assert run.main(args) == 0
    runs = sorted((out / "runs").rglob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in runs}

    real = pipelines.make

    def other_c(name, **kw):
        pipe = real(name, **kw)
        if name == "logreg":
            pipe.set_params(clf__C=1.0)
        return pipe

    monkeypatch.setattr(pipelines, "make", other_c)
    assert run.main(args) == 0
    changed = {p.parent.name for p in runs if p.stat().st_mtime_ns != stamps[p]}
    assert changed == {"logreg"}

    stamps = {p: p.stat().st_mtime_ns for p in runs}
    monkeypatch.setattr(run, "code_digest", lambda: "other code")
    assert run.main(args) == 0
    assert all(p.stat().st_mtime_ns != stamps[p] for p in runs)


def test_folds_keep_patients_apart_and_same_seed_same_table(tmp_path):
    args = ["--quick", "--task", "b", "--models", "dummy,logreg,knn", "--quiet"]
    assert run.main(args + ["--out", str(tmp_path / "one")]) == 0
    assert run.main(args + ["--out", str(tmp_path / "two")]) == 0
    pd.testing.assert_frame_equal(read_summary(tmp_path / "one", "b"),
                                  read_summary(tmp_path / "two", "b"))
    folds = pd.read_csv(tmp_path / "one" / "b" / Q / "folds.csv")
    assert (folds.groupby("group")["fold"].nunique() == 1).all()
    assert run.main(args + ["--seed", "1", "--out", str(tmp_path / "three")]) == 0
    other = pd.read_csv(tmp_path / "three" / "b" / Q / "folds.csv")
    assert not np.array_equal(other["fold"], folds["fold"])


def test_nested_search_reports_chosen_parameters(tmp_path):
    assert run.main(["--quick", "--task", "a", "--models", "logreg", "--search",
                     "--out", str(tmp_path), "--quiet"]) == 0
    rec = json.loads((tmp_path / f"runs/a/{Q}/logreg/fold0.json").read_text())
    assert set(rec["params"]) == {"clf__C"}
    per_fold = pd.read_csv(tmp_path / "a" / Q / "folds_scores.csv")
    assert per_fold["params"].str.contains("clf__C").all()


def test_every_model_grid_names_real_parameters():
    for name in pipelines.names():
        pipe = pipelines.make(name, quick=True)
        for key, values in pipelines.param_grid(name).items():
            pipe.set_params(**{key: values[0]})  # raises on a parameter the pipeline lacks


def test_normalised_models_run_and_differ_from_plain_svm(tmp_path):
    assert run.main(["--quick", "--task", "b", "--models", "svm,svm_cmn,svm_cmvn",
                     "--out", str(tmp_path), "--quiet"]) == 0
    oof = pd.read_csv(tmp_path / "b" / Q / "oof_predictions.csv")
    scores = {m: oof[[c for c in oof.columns if c.startswith(f"{m}_score_")]].to_numpy()
              for m in ("svm", "svm_cmn", "svm_cmvn")}
    assert not np.allclose(scores["svm"], scores["svm_cmn"])
    assert not np.allclose(scores["svm_cmn"], scores["svm_cmvn"])


def test_binary_task_has_auc_and_macc(tmp_path):
    assert run.main(["--quick", "--task", "binary", "--models", "dummy,logreg,svm",
                     "--out", str(tmp_path), "--quiet"]) == 0
    s = pd.read_csv(tmp_path / "binary" / Q / "summary.csv", index_col=0)
    assert s.loc["dummy", "roc_auc_mean"] == pytest.approx(0.5)
    # above chance (0.58 and 0.63 here once set A sittings are grouped; 0.7 before)
    assert s.loc["logreg", "roc_auc_mean"] > 0.55 and s.loc["svm", "roc_auc_mean"] > 0.55
    np.testing.assert_allclose(s["macc_mean"],
                               (s["sensitivity_mean"] + s["specificity_mean"]) / 2, atol=1e-4)


def test_a_bad_recording_stops_the_run_and_writes_nothing(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    real = tasks.Task.load

    def with_bad_file(self, **kw):
        data = real(self, **kw)
        data.filenames = data.filenames.copy()
        data.filenames[5] = str(bad)
        return data

    monkeypatch.setattr(tasks.Task, "load", with_bad_file)
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "a", "--models", "dummy", "--out", str(out),
                     "--quiet"]) == 1
    assert "broken.wav: not a readable audio file" in capsys.readouterr().err
    assert not (out / "runs").exists() and not (out / "a" / Q / "summary.csv").exists()


def fake_physionet(root, sizes=(("a", 45, 20), ("b", 25, 8), ("c", 8, 3))):
    """Official-layout PhysioNet folders of synthetic recordings (.wav, 2 kHz)."""
    from hbclf.heartbeat import synthetic_pcg

    rng = np.random.default_rng(0)
    for letter, n, n_abnormal in sizes:
        folder = root / f"training-{letter}"
        folder.mkdir(parents=True)
        rows = []
        for i in range(1, n + 1):
            abnormal = i <= n_abnormal
            y, _ = synthetic_pcg(heart_rate=float(rng.uniform(55, 95)), seconds=6, sr=2000,
                                 noise=0.3 if abnormal else 0.05, seed=int(rng.integers(1e6)))
            sf.write(folder / f"{letter}{i:04d}.wav", y, 2000, subtype="PCM_16")
            rows.append(f"{letter}{i:04d},{1 if abnormal else -1}")
        (folder / "REFERENCE.csv").write_text("\n".join(rows) + "\n")
    return root


def test_segmentation_task_writes_set_a_tables_and_physionet_rhythm(tmp_path):
    home = fake_physionet(tmp_path / "physionet2016", sizes=(("a", 4, 2), ("b", 3, 1)))
    out = tmp_path / "r"
    assert run.main(["--task", "segmentation", "--physionet-home", str(home), "--out", str(out),
                     "--quiet"]) == 0
    per = pd.read_csv(out / "segmentation" / "per_recording.csv")  # set A, annotated
    assert len(per) == 21 and per["annotated_sounds"].sum() == 390
    summary = pd.read_csv(out / "segmentation" / "summary.csv")
    assert set(summary["tolerance"]) == {"100ms", "60ms"}
    assert ((summary["f1"] > 0) & (summary["f1"] <= 1)).all()
    assert sorted(p.name for p in (out / "segmentation" / "plots").glob("*.png")) == [
        "best.png", "worst.png"]
    loro = summary[summary["evaluation"] == "leave-one-recording-out"]
    assert len(loro) == 4 and (loro["f1"] > 0.5).all()
    assert per[["s1_width_ms", "s2_centroid_hz", "annotated_diastole_ms"]].notna().all().all()
    assert "Annotation check" in (out / "segmentation" / "summary.md").read_text()
    per = pd.read_csv(out / "segmentation" / "physionet_per_recording.csv")
    assert len(per) == 7 and set(per["database"]) == {"training-a", "training-b"}
    assert per["detected"].all()  # synthetic hearts: a rhythm in every one
    # the synthetic rates are uniform in 55-95 bpm; halves of 3 s may be too short for two
    # slow beats, and where both are found they agree
    assert per["heart_rate"].between(50, 100).all()
    both = per["half_disagreement_bpm"].dropna()
    assert len(both) >= 5 and (both <= 3).all()
    summary = (out / "segmentation" / "physionet_summary.md").read_text()
    assert "| all | 7 | 100.0% |" in summary


def test_variant_ceiling_counts_other_versions_as_perfect():
    from benchmarks.segmentation import _variant_table, variant_ceiling

    # two recordings, two versions each: "x" read swapped (all wrong), "y" read partly right
    per = pd.DataFrame({
        "id": ["x", "x", "y", "y"], "kind": ["faster"] * 4, "target_bpm": [100, 120] * 2,
        "heart_rate_annotated": [100.0, 120.0, 100.0, 120.0], "seconds": [4.0] * 4,
        "rate_within_10pct": [True, True, True, False], "confidence": [0.5] * 4,
        "s1_tp": [0, 0, 4, 0], "s1_fp": [4, 4, 0, 2], "s1_fn": [4, 4, 0, 4],
        "s2_tp": [0, 0, 4, 1], "s2_fp": [4, 4, 1, 2], "s2_fn": [4, 4, 0, 3],
        "s1_f1": [0.0, 0.0, 1.0, 0.0], "s2_f1": [0.0, 0.0, 0.89, 0.22]})
    rate, s1, s2 = variant_ceiling(per, {"x"})
    # y's versions perfect: 8 true positives; x's: 8 false positives and 8 misses
    assert rate == 1.0 and s1 == s2 == 2 * 8 / (2 * 8 + 8 + 8)
    assert variant_ceiling(per, set())[1:] == (1.0, 1.0)
    text = _variant_table(per, {"x"})
    assert "the 2 versions of the 1 recording the annotation check names (x)" in text
    assert "0.500 / 0.500: the F1 goal (0.95) needs" in text
    assert "annotation check names" not in _variant_table(per)


def test_networks_run_on_grouped_folds_only():
    """The networks are run on a task's grouped folds when the task says so, never under
    leave-one-database-out (the main job's time; they were at or below chance there)."""
    models = ["origin", "logreg", "cnn", "rnn"]
    two = pd.DataFrame({"origin": ["db1", "db2"]})
    assert run.models_for("physionet", two, models, "grouped-10-fold") == models
    assert run.models_for("physionet", two, models, "lodo") == ["origin", "logreg"]
    assert run.models_for("heart", two, models, "grouped-10-fold") == ["origin", "logreg"]
    assert run.models_for("heart", two, models, "lodo-augmented") == ["origin", "logreg"]
    one = pd.DataFrame({"origin": ["set B", "set B"]})  # no origin baseline on one origin
    assert run.models_for("b", one, models, "grouped-5-fold") == ["logreg", "cnn", "rnn"]


def test_physionet_task_reports_both_protocols_and_every_database(tmp_path):
    home = fake_physionet(tmp_path / "physionet2016")
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "physionet", "--models", "origin,dummy,logreg,cnn",
                     "--physionet-home", str(home), "--out", str(out), "--quiet"]) == 0
    for protocol in (Q, "lodo"):
        assert (out / "physionet" / protocol / "summary.md").is_file()
    # the network on the grouped folds only
    assert (out / "runs" / "physionet" / Q / "cnn").is_dir()
    assert not (out / "runs" / "physionet" / "lodo" / "cnn").exists()
    assert "cnn" not in pd.read_csv(out / "physionet" / "lodo" / "summary.csv")["model"].tolist()
    grouped = pd.read_csv(out / "physionet" / Q / "folds.csv")
    assert grouped["file"].is_unique  # a record sits in exactly one fold
    assert (grouped.groupby("group")["fold"].nunique() == 1).all()  # and its block with it
    lodo = pd.read_csv(out / "physionet" / "lodo" / "folds.csv")
    assert sorted(lodo["fold"].unique()) == ["training-a", "training-b", "training-c"]
    assert (lodo.groupby("origin")["fold"].nunique() == 1).all()
    assert (lodo["origin"] == lodo["fold"]).all()  # each database is its own test fold
    per_db = pd.read_csv(out / "physionet" / "per_database.csv")
    assert list(per_db.columns[:7]) == ["protocol", "model", "database", "macc", "sensitivity",
                                       "specificity", "roc_auc"]
    assert {"macc", "sensitivity", "specificity", "roc_auc"} <= set(per_db.columns)
    assert set(per_db["database"]) == {"training-a", "training-b", "training-c", "mean",
                                       "mean valve disease", "mean other"}
    # training-a and -c: valve disease; training-b: coronary artery disease
    row = per_db[(per_db["protocol"] == "lodo") & (per_db["model"] == "logreg")]
    macc = dict(zip(row["database"], row["macc"]))
    assert macc["mean valve disease"] == pytest.approx(
        (macc["training-a"] + macc["training-c"]) / 2, abs=1e-4)
    assert macc["mean other"] == pytest.approx(macc["training-b"], abs=1e-4)
    # the origin baseline cannot know a database it has never seen: chance there
    origin = per_db[(per_db["protocol"] == "lodo") & (per_db["model"] == "origin")]
    assert (origin["roc_auc"].dropna() == 0.5).all()
    summary = (out / "physionet" / "lodo" / "summary.md").read_text()
    assert "MAcc training-a" in summary and "MAcc mean" in summary
    assert "MAcc mean valve disease" in summary and "MAcc mean other" in summary


def test_heart_task_holds_every_database_out_and_skips_the_networks(tmp_path):
    """PASCAL sets A and B and each PhysioNet database are held out in turn; no group is split;
    the networks are not run on this task (the main job's time)."""
    home = fake_physionet(tmp_path / "physionet2016")
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "heart", "--models", "origin,logreg,cnn",
                     "--physionet-home", str(home), "--out", str(out), "--quiet"]) == 0
    lodo = pd.read_csv(out / "heart" / "lodo" / "folds.csv")
    assert sorted(lodo["fold"].unique()) == ["set A", "set B", "training-a", "training-b",
                                             "training-c"]
    assert (lodo["origin"] == lodo["fold"]).all()
    assert set(lodo["label"]) == {"normal", "abnormal"}  # PASCAL's artifacts left out
    grouped = pd.read_csv(out / "heart" / Q / "folds.csv")
    assert (grouped.groupby("group")["fold"].nunique() == 1).all()
    assert grouped["group"].str.split(":").str[0].isin(["pascal", "physionet"]).all()
    per_db = pd.read_csv(out / "heart" / "per_database.csv")
    assert set(per_db["model"]) == {"origin", "logreg"}
    assert {"set A", "set B", "training-a", "mean"} <= set(per_db["database"])
    assert not (out / "runs" / "heart" / "lodo" / "cnn").exists()
    # with device augmentation: the same folds, the same recordings tested, none of them a copy
    augmented = pd.read_csv(out / "heart" / "lodo-augmented" / "folds.csv")
    pd.testing.assert_frame_equal(augmented, lodo)
    assert set(per_db["protocol"]) == {Q, "lodo", "lodo-augmented"}
    oof = pd.read_csv(out / "heart" / "lodo-augmented" / "oof_predictions.csv")
    assert len(oof) == len(lodo) and oof["logreg"].notna().all()
    copies = list((out / ".cache" / "augmented").rglob("*.flac"))
    assert len(copies) == len(lodo)
    assert "lodo-augmented" in (out / "README.md").read_text()


def test_augmented_copies_train_only_the_folds_of_other_databases(monkeypatch):
    """A copy (rows past n_recordings) is never tested, and never trains the fold that holds
    out its source's database."""
    seen = {}

    def spy(task, est, X, y, groups, train, test, **kwargs):
        seen["train"], seen["test"] = train, test
        return est, {"params": {}, "novel": None, "scores": {"balanced_accuracy": 0.5},
                     "pred": ["normal"] * len(test), "classes": ["abnormal", "normal"],
                     "class_scores": np.zeros((len(test), 2))}

    monkeypatch.setattr(run, "evaluate_fold", spy)
    origin = np.array(["db1", "db1", "db2", "db3"])
    fold, _ = tasks.make_folds("lodo-augmented", ["normal", "abnormal"] * 2, [1, 2, 3, 4], origin)
    rows = np.r_[np.arange(4), np.arange(4)]
    X = np.arange(8.0)[:, None]
    for k in range(3):
        _, rec = run.run_fold("heart", "lodo-augmented", "logreg", k, X,
                              np.array(["normal", "abnormal"] * 2)[rows], np.arange(4)[rows],
                              origin[rows], fold[rows], seed=0, quick=True, search=False,
                              n_threads=1, n_recordings=4)
        assert set(seen["test"]) == set(np.flatnonzero(fold == k))  # originals only
        assert set(seen["train"]) == set(np.flatnonzero(fold[rows] != k))
        assert not set(seen["train"] % 4) & set(seen["test"])  # no copy of a tested recording
        assert rec["index"] == seen["test"].tolist()


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
    assert pipelines.names() == ["origin", "dummy", "logreg", "svm", "rf", "knn", "gb", "svm_cmn",
                                 "svm_cmvn", "logreg_rhythm", "svm_rhythm", "logreg_cycles",
                                 "et_cycles", "logreg_cycles_db", "et_cycles_db",
                                 "et_cycles_experts", "et_contrasts_experts", "sample_entry",
                                 "potes_features", "cnn", "rnn"]
    assert set(pipelines.networks()) == {"cnn", "rnn"} < set(pipelines.names())
    feats, model = pipelines.split_stateless(pipelines.make("et_cycles"))
    assert [n for n, _ in feats.steps] == ["features"]  # computed once per recording
    assert [n for n, _ in model.steps] == ["impute", "scale", "clf"]
    feats, model = pipelines.split_stateless(pipelines.make("svm_rhythm"))
    assert [n for n, _ in feats.steps] == ["features"]
    assert [n for n, _ in model.steps] == ["impute", "scale", "clf"]
    feats, model = pipelines.split_stateless(pipelines.make("sample_entry"))
    assert [n for n, _ in feats.steps] == ["intervals"]
    assert [n for n, _ in model.steps] == ["impute", "scale", "clf"]
    feats, model = pipelines.split_stateless(pipelines.make("potes_features"))
    assert [n for n, _ in feats.steps] == ["states"]
    assert [n for n, _ in model.steps] == ["impute", "scale", "clf"]
    feats, model = pipelines.split_stateless(pipelines.make("rf"))
    assert [n for n, _ in feats.steps] == ["mfcc", "summary"]
    assert [n for n, _ in model.steps] == ["scale", "clf"]
    with pytest.raises(ValueError, match="unknown model"):
        pipelines.make("transformer")


def test_challenge_measures_on_known_predictions():
    y = np.array(["normal"] * 4 + ["murmur"] * 2 + ["extrastole"] * 2)
    assert challenge_b(y, y)["total_precision"] == pytest.approx(1.0)
    assert math.isnan(challenge_b(y, y)["discriminant_power"])  # Se = Sp = 1: undefined
    pred = y.copy()
    pred[0] = "murmur"  # one normal called a problem
    pred[6] = "normal"  # one extrasystole missed
    b = challenge_b(y, pred)
    assert b["problem_sensitivity"] == pytest.approx(3 / 4)
    assert b["problem_specificity"] == pytest.approx(3 / 4)
    assert b["youden"] == pytest.approx(0.5)
    assert b["precision_normal"] == pytest.approx(3 / 4)
    assert b["precision_murmur"] == pytest.approx(2 / 3)
    dp = math.sqrt(3) / math.pi * 2 * math.log10(0.75 / 0.25)  # the published formula
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


class NoisyTable(LearnsNothingMixin, TransformerMixin, BaseEstimator):
    """A feature step whose second column is zero up to rounding noise."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        rng = np.random.default_rng(0)
        return np.c_[np.arange(len(X), dtype=float), 1e-7 * rng.normal(size=len(X))]

    def get_feature_names_out(self, input_features=None):
        return np.array(["order", "mfcc0_mean"], dtype=object)


def test_a_feature_column_of_rounding_noise_is_refused(tmp_path, monkeypatch, capsys):
    """A model whose features hold a column constant up to rounding (noise a scaler would blow
    up, different on every CPU) is not fitted: the run stops with one line naming it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    make = pipelines.make
    monkeypatch.setattr(pipelines, "make", lambda name, **kw: Pipeline(
        [("features", NoisyTable()), ("clf", LogisticRegression())]) if name == "logreg"
        else make(name, **kw))
    out = tmp_path / "r"
    assert run.main(["--quick", "--task", "a", "--models", "dummy,logreg", "--out", str(out),
                     "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "error: model logreg: 1 feature column(s) constant up to rounding (mfcc0_mean)" in err
    assert not (out / "runs" / "a").exists()


def test_features_shared_out_between_processes_are_the_same_table(tmp_path, monkeypatch):
    """pipelines.feature_table (processes, four recordings a call) gives fit_transform's table
    row for row, segments each recording once for the union's two transformers (fit_transform
    over the whole list segments it twice), and is what the harness reads."""
    from benchmarks.records import extract
    from hbclf.heartbeat import _detect

    files = [str(f) for f in load_pascal("a").filenames[:72]]
    featurizer, _ = pipelines.split_stateless(pipelines.make("logreg_cycles"))
    calls, tables = [], []
    segment = _detect._detect
    monkeypatch.setattr(_detect, "_detect", lambda *a: calls.append(1) or segment(*a))
    for read, segmentations in ((featurizer.fit_transform, 2 * len(files)),
                                (lambda f: pipelines.feature_table(featurizer, f), len(files))):
        _detect._RECENT.clear()
        calls.clear()
        tables.append(read(files))
        assert len(calls) == segmentations
    table = tables[0]
    np.testing.assert_array_equal(tables[1], table)
    assert table.shape == (len(files), len(featurizer.get_feature_names_out()))
    np.testing.assert_array_equal(pipelines.feature_table(featurizer, files, n_jobs=2), table)
    np.testing.assert_array_equal(extract(featurizer, files, tmp_path, "code", n_jobs=2), table)
    mfcc, _ = pipelines.split_stateless(pipelines.make("cnn"))  # sequences: one call
    seqs = pipelines.feature_table(mfcc, files[:6], n_jobs=2)
    assert len(seqs) == 6
    np.testing.assert_array_equal(seqs[5], mfcc.fit_transform(files[5:6])[0])
    with pytest.raises(ValueError, match="learn nothing"):
        pipelines.feature_table(pipelines.make("svm"), files)


def test_featurizers_computed_together_segment_each_recording_once(tmp_path, monkeypatch):
    """pipelines.feature_tables gives each featurizer's own table and segments a recording once
    for all of them (once per featurizer one after another); the harness's extract_many reads
    through it, keeps each table in its cache and fills only what the memos lack."""
    from benchmarks.records import extract, extract_many
    from hbclf.heartbeat import _detect

    files = [str(f) for f in load_pascal("a").filenames[:24]]
    steps = [pipelines.split_stateless(pipelines.make(m))[0]
             for m in ("logreg_cycles", "sample_entry", "potes_features", "cnn")]
    calls = []
    segment = _detect._detect
    monkeypatch.setattr(_detect, "_detect", lambda *a: calls.append(1) or segment(*a))
    _detect._RECENT.clear()
    alone = [pipelines.feature_table(f, files) for f in steps]
    assert len(calls) == 3 * len(files)  # the MFCC sequences segment nothing
    _detect._RECENT.clear()
    calls.clear()
    together = pipelines.feature_tables(steps, files)
    assert len(calls) == len(files)
    for a, b in zip(alone[:3], together[:3]):
        assert a.dtype == b.dtype and a.shape[0] == len(files)
        np.testing.assert_array_equal(a, b)
    assert len(together[3]) == len(files)
    np.testing.assert_array_equal(together[3][7], alone[3][7])
    memos = [{f: alone[0][i] for i, f in enumerate(files[:10])}, {}, {}, {}]
    tables = extract_many(steps, files, tmp_path, "code", n_jobs=2, memos=memos)
    for a, b in zip(alone[:3], tables[:3]):
        np.testing.assert_array_equal(a, b)
    assert set(memos[1]) == set(files) and not memos[3]
    calls.clear()
    np.testing.assert_array_equal(extract(steps[1], files, tmp_path, "code"), alone[1])
    assert not calls  # read from the cache


def test_readme_ranks_shipping_candidates_by_their_mean_and_worst_database(tmp_path):
    from benchmarks.readme import choice, uncertain
    from hbclf.model_files import default_model_path, read_card

    shipped = read_card(default_model_path())["model"]
    rows = []
    for model, macc, unc in (("uneven", [0.9, 0.3], [0.0, 0.2]), (shipped, [0.6, 0.6], [0.05, 0.0]),
                             ("origin", [1.0, 1.0], [np.nan, np.nan])):
        for db, m, u in zip(["set A", "training-e"], macc, unc):
            rows.append({"protocol": "lodo", "model": model, "database": db, "macc": m,
                         "uncertain": u})
        rows.append({"protocol": "lodo", "model": model, "database": "mean",
                     "macc": np.mean(macc), "uncertain": np.mean(unc)})
    (tmp_path / "heart").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "heart" / "per_database.csv", index=False)
    tables = {("heart", "lodo"): ""}
    table = [line for line in choice(tmp_path, tables) if line.startswith("| `")]
    # even 0.6 / 0.6 (score 0.6) before a better mean with a worse worst database (0.45)
    assert [line.split("`")[1] for line in table] == [shipped, "uneven"]
    assert "0.300 (training-e)" in table[1] and "20.0%" in table[1]
    assert "(shipped)" in table[0]
    assert choice(tmp_path, tables)[-1] == (f"The ranking's choice is `{shipped}`; the shipped "
                                           f"model is `{shipped}`.")
    line, = uncertain(tmp_path, tables)
    assert "2.5% of a held-out database" in line and "at most 5.0% (set A)" in line
    assert choice(tmp_path, {}) == uncertain(tmp_path, {}) == []


def test_readme_compares_every_model_with_and_without_augmentation(tmp_path):
    from benchmarks.readme import augmentation, choice

    rows = []
    for protocol, macc in (("lodo", [0.7, 0.5]), ("lodo-augmented", [0.8, 0.6])):
        for db, m in zip(["set A", "training-e"], macc):
            rows.append({"protocol": protocol, "model": "logreg", "database": db, "macc": m,
                         "uncertain": 0.1 if protocol == "lodo" else 0.02})
    (tmp_path / "heart").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "heart" / "per_database.csv", index=False)
    tables = {("heart", "lodo"): "", ("heart", "lodo-augmented"): ""}
    (line,) = [x for x in augmentation(tmp_path, tables) if x.startswith("| `")]
    # mean, valve disease (set A), other (training-e), worst, most uncertain: without → with
    assert line == ("| `logreg` | 0.600 → 0.700 | 0.700 → 0.800 | 0.500 → 0.600 | "
                    "0.500 → 0.600 | 10.0% → 2.0% |")
    ranked = [x for x in choice(tmp_path, tables) if x.startswith("| `")]
    assert ranked[0].startswith("| `logreg` augmented |") and len(ranked) == 2
    assert choice(tmp_path, tables)[-1].startswith("The ranking's choice is `logreg` augmented;")
    # ranked first but answering 12 % of a held-out database "uncertain": not the choice
    wide = pd.DataFrame(rows).assign(uncertain=lambda d: np.where(
        d["protocol"] == "lodo", 0.02, 0.12))
    wide.to_csv(tmp_path / "heart" / "per_database.csv", index=False)
    assert choice(tmp_path, tables)[-1].startswith(
        "The ranking's choice is `logreg` (`logreg` augmented, ranked above it, answers more "
        "than 10% of a held-out database \"uncertain\");")
    wide.assign(uncertain=0.2).to_csv(tmp_path / "heart" / "per_database.csv", index=False)
    assert choice(tmp_path, tables)[-1].startswith("None of these answers at most 10%")
    pd.DataFrame(rows[:2]).to_csv(tmp_path / "heart" / "per_database.csv", index=False)
    assert augmentation(tmp_path, tables) == []  # nothing augmented in this run


def test_readme_says_how_near_any_model_comes_to_the_goals(tmp_path):
    from benchmarks.readme import reach

    rows = []
    for protocol, maccs in (("grouped-10-fold", {"a": [0.9, 0.5, 0.7], "b": [0.55, 0.8, 0.9]}),
                            ("lodo", {"a": [0.6, 0.5, 0.4], "b": [0.7, 0.6, 0.5]})):
        for model, macc in [*maccs.items(), ("origin", [1.0, 1.0, 1.0])]:
            for db, m in zip(["set A", "training-c", "training-e"], macc):
                rows.append({"protocol": protocol, "model": model, "database": db, "macc": m})
            rows.append({"protocol": protocol, "model": model, "database": "mean valve disease",
                         "macc": 1.0})
    (tmp_path / "heart").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "heart" / "per_database.csv", index=False)
    lines = reach(tmp_path, {("heart", "lodo"): ""})
    # set A and training-c are valve disease; the baselines and the "mean" rows are not read
    assert lines[-4].startswith("| grouped 10-fold (") and lines[-4].endswith(
        "| 0.700 (`a`) | 0.750 (`b`) | 0.850 | 0.867 |")
    assert lines[-3] == "| leave-one-database-out | 0.650 (`b`) | 0.600 (`b`) | 0.650 | 0.600 |"
    # b on set A: 0.55 within, 0.7 held out, the one pair of six that gained
    assert lines[-1] == ("A model scored higher on a database held out than with that database "
                         "among its training recordings in 1 of 6 (model, database) pairs (by "
                         "at most 0.150); the median pair's change: -0.250.")
    assert reach(tmp_path, {}) == []
