"""The data home, the one PhysioNet lookup, and fetch_physionet2016 against local archives."""

import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile as sf

from hbclf.datasets import (OFFICIAL_COUNTS, DownloadError, LayoutError, fetch_physionet2016,
                            find_physionet2016, get_data_home, load_physionet2016)
from hbclf.datasets import _home

OFFLINE = "https://127.0.0.1:9/training.zip"  # the discard port on loopback: refused at once


def _wav_bytes(seconds=0.6, sr=2000):
    buf = io.BytesIO()
    y = (0.1 * np.sin(np.linspace(0, 60 * np.pi, int(seconds * sr)))).astype(np.float32)
    sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def make_archive(path, counts=OFFICIAL_COUNTS, *, prefix="training/", extra=()):
    """A zip in the official layout: ``training/training-x/x0001.wav`` ... and REFERENCE.csv,
    with each database's published numbers of recordings and abnormal ones (tiny WAVs)."""
    wav = _wav_bytes()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for db, (n, abnormal) in counts.items():
            letter = db[-1]
            rows = []
            for i in range(1, n + 1):
                z.writestr(f"{prefix}{db}/{letter}{i:04d}.wav", wav)
                rows.append(f"{letter}{i:04d},{1 if i <= abnormal else -1}")
            z.writestr(f"{prefix}{db}/REFERENCE.csv", "\n".join(rows) + "\n")
            z.writestr(f"{prefix}{db}/RECORDS", "\n".join(r.split(",")[0] for r in rows))
        for name, data in extra:
            z.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("mirror") / "training.zip")


@pytest.fixture
def no_clone_copy(monkeypatch, tmp_path):
    """A machine with no PhysioNet copy anywhere: empty data home, no ../shared, no env."""
    monkeypatch.setenv("HBCLF_DATA", str(tmp_path / "home"))
    monkeypatch.delenv("HBCLF_PHYSIONET", raising=False)
    monkeypatch.setattr(_home, "_beside_clone", lambda: None)
    return tmp_path / "home"


def test_data_home_follows_argument_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HBCLF_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env" and (tmp_path / "env").is_dir()
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("HBCLF_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert get_data_home() == tmp_path / "user" / "hbclf_data"


def test_fetch_downloads_verifies_unpacks_and_is_found_everywhere(archive, no_clone_copy):
    data = fetch_physionet2016(url=archive.as_uri(), progress=False)
    assert len(data.filenames) == 3240 and int(data.target.sum()) == 665
    target = no_clone_copy / "physionet2016"
    assert find_physionet2016() == target
    assert sorted(p.name for p in target.iterdir() if p.is_dir()) == list(OFFICIAL_COUNTS)
    assert len(load_physionet2016(databases=["c"]).filenames) == 31  # no argument needed
    from hbclf import tasks

    heart = tasks.get("heart").load()
    assert {"set A", "set B", "training-f"} <= set(heart.origin)
    # a second call reads the disk: the archive's address may be gone
    again = fetch_physionet2016(url=OFFLINE, progress=False, databases=["d"])
    assert len(again.filenames) == 55


def test_offline_fetch_says_what_to_download_and_where(no_clone_copy):
    with pytest.raises(DownloadError) as err:
        fetch_physionet2016(url=OFFLINE, progress=False)
    msg = str(err.value)
    assert "\n" not in msg and OFFLINE in msg and str(no_clone_copy / "physionet2016") in msg
    with pytest.raises(LayoutError, match="not in .*physionet2016; call fetch_physionet2016"):
        fetch_physionet2016(download_if_missing=False)
    with pytest.raises(LayoutError, match="no PhysioNet 2016 copy found.*fetch_physionet2016"):
        load_physionet2016()


def test_an_archive_that_is_not_the_published_set_is_refused(tmp_path, no_clone_copy):
    counts = {**OFFICIAL_COUNTS, "training-c": (31, 23)}
    bad = make_archive(tmp_path / "bad.zip", counts)
    with pytest.raises(LayoutError, match=r"training-c: 31 recordings \(23 abnormal\).*24 "
                       "abnormal"):
        fetch_physionet2016(url=bad.as_uri(), progress=False)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(LayoutError, match="not a zip archive"):
        fetch_physionet2016(no_clone_copy / "other", url=(tmp_path / "junk.zip").as_uri(),
                            progress=False)


def test_a_wrong_checksum_is_refused(archive, no_clone_copy):
    with pytest.raises(LayoutError, match="(?i)hash"):
        fetch_physionet2016(url=archive.as_uri(), sha256="0" * 64, progress=False)


def test_archive_paths_cannot_leave_the_data_home(tmp_path, no_clone_copy):
    evil = make_archive(tmp_path / "evil.zip", extra=[("../../evil.txt", "x"),
                                                      ("training-a/../../evil2.txt", "x")])
    fetch_physionet2016(url=evil.as_uri(), progress=False)
    assert not list(tmp_path.rglob("evil*.txt"))


def test_lookup_order_argument_environment_data_home(archive, no_clone_copy, monkeypatch,
                                                     tmp_path):
    fetch_physionet2016(url=archive.as_uri(), progress=False)
    other = tmp_path / "elsewhere" / "physionet2016"
    (other / "training-c").mkdir(parents=True)
    monkeypatch.setenv("HBCLF_PHYSIONET", str(other.parent))
    assert find_physionet2016() == other  # the environment before the data home
    assert find_physionet2016(no_clone_copy) == no_clone_copy / "physionet2016"  # argument first
    with pytest.raises(LayoutError, match="folder not found"):
        find_physionet2016(tmp_path / "nowhere")


def test_the_installed_wheel_fetches_then_loads_the_heart_task(archive, wheel_site, tmp_path):
    """A fresh environment with only the built wheel: fetch from a local archive, then
    ``tasks.get("heart").load()`` with no argument; without data, one line and no traceback."""
    site, _ = wheel_site
    env = {k: v for k, v in os.environ.items() if not k.startswith("HBCLF_")}
    env.update(PYTHONPATH=str(site), HBCLF_DATA=str(tmp_path / "home"), HOME=str(tmp_path))

    def run(*args):
        return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env)

    r = run("-m", "hbclf", "train", "--task", "heart", "--out", str(tmp_path / "m"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "fetch_physionet2016" in r.stderr
    r = run("-m", "hbclf.datasets", "fetch-physionet", "--url", OFFLINE)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    # pooch's "Downloading data from ..." line, then one line of error
    assert r.stderr.splitlines()[-1].startswith("error: could not download")
    assert sum(line.startswith("error") for line in r.stderr.splitlines()) == 1
    r = run("-m", "hbclf.datasets", "fetch-physionet", "--url", archive.as_uri())
    assert r.returncode == 0, r.stderr
    r = run("-c", "import hbclf; from hbclf import tasks; d = tasks.get('heart').load(); "
            "print(hbclf.__file__.startswith(" + repr(str(site)) + "), len(d.filenames))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", str(3240 + 545)]
