import collections
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.model_selection import StratifiedGroupKFold

from hbclf.datasets import (
    LayoutError,
    embedded_data_home,
    load_pascal,
    load_pascal_timing,
    load_physionet2016,
    sittings,
)
from hbclf.datasets import bundle
from hbclf.io import load_audio

PUBLISHED = {
    "a": {"normal": 31, "murmur": 34, "extrahls": 19, "artifact": 40},
    "b": {"normal": 320, "murmur": 95, "extrastole": 46},
}


@pytest.mark.parametrize("subset", ["a", "b"])
def test_embedded_counts_match_the_published_ones(subset):
    data = load_pascal(subset)
    assert dict(collections.Counter(data.label)) == PUBLISHED[subset]
    assert all(Path(f).is_file() for f in data.filenames)
    assert list(data.target_names) == [k for k in PUBLISHED[subset]]
    np.testing.assert_array_equal(data.target_names[data.target], data.label)


@pytest.mark.parametrize("subset", ["a", "b"])
def test_full_copy_counts_match_the_published_ones(shared_data, subset):
    data = load_pascal(subset, data_home=shared_data)
    assert dict(collections.Counter(data.label)) == PUBLISHED[subset]
    assert load_pascal(subset, data_home=shared_data / "pascal").frame.equals(data.frame)


def test_full_copy_and_embedded_copy_describe_the_same_recordings(shared_data):
    full = load_pascal(data_home=shared_data).frame
    emb = load_pascal().frame
    cols = ["set", "label", "sublabel", "group", "id", "orig_sr", "source"]
    pd.testing.assert_frame_equal(full[cols], emb[cols])
    np.testing.assert_allclose(full["duration"], emb["duration"])


def test_unlabelled_recordings_are_kept_on_request(shared_data):
    data = load_pascal(data_home=shared_data, labelled_only=False)
    assert len(data.filenames) == 832
    assert (data.target == -1).sum() == 247 and set(data.label[data.target == -1]) == {""}
    examples = load_pascal(labelled_only=False)
    assert (examples.target == -1).sum() == 6


def test_bunch_has_what_sklearn_users_expect():
    data = load_pascal("all")
    for key in ["filenames", "target", "target_names", "sublabel", "groups", "frame", "DESCR"]:
        assert key in data
    assert "Bentley" in data.DESCR and len(data.frame) == 585
    assert collections.Counter(data.sublabel) == {"": 436, "noisynormal": 120, "noisymurmur": 29}
    X, y = load_pascal("b", return_X_y=True)
    assert X.shape == y.shape == (461,)
    Xf, yf = load_pascal("b", return_X_y=True, as_frame=True)
    assert isinstance(Xf, pd.Series) and set(yf) == {"normal", "murmur", "extrastole"}


def test_groups_are_patients_in_b_and_sittings_in_a():
    b = load_pascal("b")
    assert len(set(b.groups)) < len(b.groups)  # patients have several recordings
    patient = [re.search(r"_(\d+)_\d{13}_", Path(f).name).group(1) for f in b.filenames]
    assert list(b.groups) == [f"b{p}" for p in patient]
    a = load_pascal("a")
    assert len(set(a.groups)) == 88  # timestamps chained at most 10 minutes apart
    murmur_sitting = a.groups[[Path(f).name.startswith("murmur__20110822") for f in a.filenames]]
    assert len(murmur_sitting) == 23 and len(set(murmur_sitting)) == 1
    # one recording per name; the two names filed under two classes share a group
    assert len(set(load_pascal("a", sitting_gap=None).groups)) == 122


def test_sittings_chain_timestamps_and_never_straddle_folds():
    ids = ["201101010000", "201101010010", "201101010021", "201101010031", "201101020000"]
    assert list(sittings(ids)) == ["a201101010000"] * 2 + ["a201101010021"] * 2 + [
        "a201101020000"]
    assert list(sittings(ids[::-1])) == list(sittings(ids))[::-1]  # order does not matter
    assert len(set(sittings(ids, gap=60 * 24))) == 1
    a = load_pascal("a")
    for seed in range(3):
        cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
        for train, test in cv.split(a.filenames, a.target, a.groups):
            assert not set(a.groups[train]) & set(a.groups[test])


@pytest.mark.parametrize("subset", ["a", "b", "all"])
def test_grouped_folds_never_split_a_patient(subset):
    data = load_pascal(subset)
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    for train, test in cv.split(data.filenames, data.target, data.groups):
        assert not set(data.groups[train]) & set(data.groups[test])


def test_timing_annotations():
    t = load_pascal_timing()
    assert len(t) == 390 and t["filename"].nunique() == 21
    assert set(t["sound"]) == {"S1", "S2"}
    np.testing.assert_allclose(t["time"], t["sample"] / 44100, atol=1e-6)
    for f, rows in t.groupby("filename"):
        y, sr = load_audio(f)
        assert rows["time"].max() <= len(y) / sr
        assert "normal__" in Path(f).name


def test_timing_from_full_copy(shared_data):
    pd.testing.assert_frame_equal(
        load_pascal_timing(data_home=shared_data).drop(columns="filename"),
        load_pascal_timing().drop(columns="filename"),
        atol=1e-6,
    )


def test_embedded_copy_matches_its_checksums():
    assert bundle.verify_sums(embedded_data_home()) == 594


def test_bundle_rebuilds_the_committed_copy(shared_data, tmp_path):
    bundle.build(shared_data, tmp_path, log=lambda *_: None)
    ours = embedded_data_home()
    for name in ["pascal/manifest.csv", "pascal/timing.csv", "README.md"]:
        assert (tmp_path / name).read_text() == (ours / name).read_text()
    manifest = pd.read_csv(ours / "pascal/manifest.csv", keep_default_na=False)
    for f in manifest["file"]:
        a, _ = sf.read(ours / f, dtype="int16")
        b, _ = sf.read(tmp_path / f, dtype="int16")
        # soxr versions may differ in the last bit
        assert a.shape == b.shape and np.max(np.abs(a.astype(int) - b)) <= 1


def test_bundle_check_reports_a_tampered_file(tmp_path):
    (tmp_path / "x.txt").write_text("one")
    bundle.write_sums(tmp_path)
    assert bundle.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "x.txt").write_text("two")
    with pytest.raises(ValueError, match="x.txt: checksum differs"):
        bundle.verify_sums(tmp_path)
    assert bundle.main(["--check", str(tmp_path)]) == 1


# -- the two public layouts, built small in a temporary folder ---------------------------

def _wav(path, seconds=1.0, sr=4000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * 50 * t), sr)


KAGGLE_A = [
    ("set_a/normal__201102081321.wav", "normal__201102081321.wav", "normal", ""),
    ("set_a/murmur__201106141148.wav", "murmur__201106141148.wav", "murmur", ""),
    ("set_a/normal__201106141148.wav", "normal__201106141148.wav", "normal", ""),
    ("set_a/__201012172010.wav", "Aunlabelledtest__201012172010.wav", "", ""),
]
KAGGLE_B = [
    ("set_b/Btraining_extrastole_127_1306764300147_C2.wav",
     "extrastole__127_1306764300147_C2.wav", "extrastole", ""),
    ("set_b/Btraining_murmur_Btraining_noisymurmur_162_1307101835989_B_1.wav",
     "murmur_noisymurmur_162_1307101835989_B_1.wav", "murmur", "noisymurmur"),
    ("set_b/Btraining_murmur_171_1307971016233_D.wav", "murmur__171_1307971016233_D.wav",
     "murmur", ""),
    ("set_b/Btraining_murmur_Btraining_noisymurmur_171_1307971016233_D.wav",
     "murmur_noisymurmur_171_1307971016233_D.wav", "murmur", "noisymurmur"),
    ("set_b/Bunlabelledtest_101_1305030823364_A.wav", "Bunlabelledtest__101_1305030823364_A.wav",
     "", ""),
]


def make_kaggle(root):
    for set_, rows in (("a", KAGGLE_A), ("b", KAGGLE_B)):
        for _, disk, _, _ in rows:
            _wav(root / f"set_{set_}" / disk)
        pd.DataFrame(
            [(set_, fname, label, sub) for fname, _, label, sub in rows],
            columns=["dataset", "fname", "label", "sublabel"],
        ).to_csv(root / f"set_{set_}.csv", index=False)
    pd.DataFrame(
        {"fname": ["set_a/normal__201102081321.wav"] * 2, "cycle": [1, 1],
         "sound": ["S1", "S2"], "location": [441, 8820]}
    ).to_csv(root / "set_a_timing.csv", index=False)
    return root


def make_original(root):
    files = [
        "Atraining_normal/201102081321.wav",
        "Atraining_murmur/201106141148.wav",
        "Atraining_normal/201106141148.wav",
        "Aunlabelledtest/201012172010.wav",
        "Btraining_extrastole/127_1306764300147_C2.wav",
        "Btraining_murmur/Btraining_noisymurmur/162_1307101835989_B_1.wav",
        "Btraining_murmur/171_1307971016233_D.wav",
        "Btraining_murmur/Btraining_noisymurmur/171_1307971016233_D.wav",
        "Bunlabelledtest/101_1305030823364_A.wav",
    ]
    for f in files:
        _wav(root / f)
    pd.DataFrame(
        {"fname": ["201102081321.wav"] * 2, "cycle": [1, 1], "sound": ["S1", "S2"],
         "location": [441, 8820]}
    ).to_csv(root / "Atraining_normal_seg.csv", index=False)
    return root


@pytest.mark.parametrize("make", [make_kaggle, make_original])
def test_both_public_layouts_give_the_same_table(tmp_path, make):
    root = make(tmp_path / "copy")
    data = load_pascal(data_home=root, labelled_only=False)
    got = sorted(zip(data.set, data.label, data.sublabel, data.frame["id"], data.groups))
    assert got == sorted([
        ("a", "normal", "", "201102081321", "a201102081321"),
        ("a", "murmur", "", "201106141148", "a201106141148"),
        ("a", "normal", "", "201106141148", "a201106141148"),
        ("a", "", "", "201012172010", "a201012172010"),
        ("b", "extrastole", "", "127_1306764300147_C2", "b127"),
        ("b", "murmur", "noisymurmur", "162_1307101835989_B_1", "b162"),
        ("b", "murmur", "", "171_1307971016233_D", "b171"),
        ("b", "murmur", "noisymurmur", "171_1307971016233_D", "b171"),
        ("b", "", "", "101_1305030823364_A", "b101"),
    ])
    timing = load_pascal_timing(data_home=root)
    assert list(timing["time"]) == [0.01, 0.2] and Path(timing["filename"][0]).is_file()


def test_full_copy_in_original_layout(shared_data, tmp_path):
    """The challenge's folders, rebuilt from the Kaggle copy with links."""
    src = shared_data / "pascal"
    kaggle = load_pascal(data_home=src, labelled_only=False).frame
    for r in kaggle.itertuples():
        top = f"{r.set.upper()}{'training_' + r.label if r.label else 'unlabelledtest'}"
        sub = f"B{'training_' + r.sublabel}/" if r.sublabel else ""
        dest = tmp_path / top / sub / f"{r.id}.wav"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(r.filename)
    shutil.copy(src / "set_a_timing.csv", tmp_path / "Atraining_normal_seg.csv")
    orig = load_pascal(data_home=tmp_path, labelled_only=False).frame
    cols = ["set", "label", "sublabel", "group", "id", "duration", "orig_sr"]
    key = ["set", "label", "sublabel", "id"]
    pd.testing.assert_frame_equal(
        orig[cols].sort_values(key).reset_index(drop=True),
        kaggle[cols].sort_values(key).reset_index(drop=True),
    )
    assert len(load_pascal_timing(data_home=tmp_path)) == 390


def test_unknown_layout_is_a_clear_error(tmp_path):
    (tmp_path / "somefile.txt").write_text("x")
    with pytest.raises(LayoutError, match="not a PASCAL CHSC2011 copy"):
        load_pascal(data_home=tmp_path)
    with pytest.raises(LayoutError, match="data folder not found"):
        load_pascal(data_home=tmp_path / "absent")


def test_missing_file_is_a_clear_error(tmp_path):
    root = make_kaggle(tmp_path)
    (root / "set_b" / "extrastole__127_1306764300147_C2.wav").unlink()
    with pytest.raises(LayoutError,
                       match=r"set_b.csv, line 2: the file for .*127_1306764300147_C2"):
        load_pascal(data_home=root)


def test_bad_arguments():
    with pytest.raises(ValueError, match="subset"):
        load_pascal("c")
    with pytest.raises(ValueError, match="sr"):
        load_pascal(sr=0)


# -- PhysioNet 2016 -----------------------------------------------------------------------

PHYSIONET = Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet2016"


def _physionet_copy(tmp_path, suffix=".wav", databases=("c", "d")):
    """An official-layout copy (WAV like the official download) of two small databases."""
    import soundfile as sf

    if not PHYSIONET.is_dir():
        pytest.skip(f"no PhysioNet copy at {PHYSIONET}")
    root = tmp_path / "physionet2016"
    for letter in databases:
        src, dst = PHYSIONET / f"training-{letter}", root / f"training-{letter}"
        dst.mkdir(parents=True)
        (dst / "REFERENCE.csv").write_bytes((src / "REFERENCE.csv").read_bytes())
        for f in sorted(src.glob("*.flac")):
            y, sr = sf.read(f, dtype="int16")
            sf.write(dst / f"{f.stem}{suffix}", y, sr, subtype="PCM_16")
    return root


def test_physionet_official_wav_and_flac_copies_agree(tmp_path):
    wav = load_physionet2016(_physionet_copy(tmp_path))
    flac = load_physionet2016(PHYSIONET, databases=["c", "d"])
    assert len(wav.filenames) == 31 + 55
    np.testing.assert_array_equal(wav.target, flac.target)
    np.testing.assert_array_equal(wav.groups, flac.groups)
    assert list(wav.target_names) == ["normal", "abnormal"]
    assert (wav.label == "abnormal").sum() == 24 + 28
    assert set(wav.database) == {"training-c", "training-d"}
    from hbclf.io import load_audio

    a, _ = load_audio(wav.filenames[0], sr=2000)
    b, _ = load_audio(flac.filenames[0], sr=2000)
    np.testing.assert_array_equal(a, b)  # lossless: the same samples


def test_physionet_full_copy_counts():
    if not PHYSIONET.is_dir():
        pytest.skip(f"no PhysioNet copy at {PHYSIONET}")
    d = load_physionet2016(PHYSIONET.parent)  # the parent holding physionet2016/ works too
    assert len(d.filenames) == 3126 and int(d.target.sum()) == 631
    counts = d.frame.groupby("database").size().to_dict()
    assert counts == {"training-a": 409, "training-b": 490, "training-c": 31, "training-d": 55,
                      "training-e": 2141}
    # groups are blocks of consecutive records inside one database
    assert all(g.split(":")[0] == db for g, db in zip(d.groups, d.database))
    assert d.frame.groupby("group")["database"].nunique().max() == 1


def test_physionet_reference_and_files_must_agree(tmp_path):
    root = _physionet_copy(tmp_path, databases=("c",))
    folder = root / "training-c"
    (folder / "c0003.wav").unlink()
    with pytest.raises(LayoutError, match=r"training-c: 1 recording\(s\) listed in "
                       r"REFERENCE.csv are missing \(first: c0003\)"):
        load_physionet2016(root)
    (folder / "c0003.wav").write_bytes((folder / "c0004.wav").read_bytes())
    (folder / "c0099.wav").write_bytes((folder / "c0004.wav").read_bytes())
    with pytest.raises(LayoutError, match=r"not in REFERENCE.csv \(first: c0099.wav\)"):
        load_physionet2016(root)
    (folder / "c0099.wav").unlink()
    ref = (folder / "REFERENCE.csv").read_text()
    (folder / "REFERENCE.csv").write_text(ref.replace("c0005,1", "c0005,2").replace(
        "c0005,-1", "c0005,2"))
    with pytest.raises(LayoutError, match="labels must be 1 .abnormal. or -1"):
        load_physionet2016(root)
    (folder / "REFERENCE.csv").unlink()
    with pytest.raises(LayoutError, match="training-c: REFERENCE.csv is missing"):
        load_physionet2016(root)


def test_a_corrupt_physionet_recording_is_named(tmp_path):
    root = _physionet_copy(tmp_path, databases=("c",))
    (root / "training-c" / "c0007.wav").write_bytes(b"RIFF but not really audio")
    with pytest.raises(LayoutError, match=r"c0007.wav: not a readable audio file"):
        load_physionet2016(root)
    with pytest.warns(UserWarning, match=r"c0007.wav: not a readable audio file.*left out"):
        d = load_physionet2016(root, on_error="skip")
    assert len(d.filenames) == 30 and not any("c0007" in f for f in d.filenames)
