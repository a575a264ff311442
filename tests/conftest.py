import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# Keep TensorFlow quiet and on few threads in tests; set before any import of it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """The full PASCAL copy beside the project (present on developer machines and in CI)."""
    if not (SHARED / "pascal" / "set_a.csv").is_file():
        pytest.skip(f"full PASCAL copy not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def physionet_home():
    """The PhysioNet 2016 copy beside the project (present on developer machines and in CI)."""
    home = SHARED / "physionet2016"
    if not (home / "training-a" / "REFERENCE.csv").is_file():
        pytest.skip(f"PhysioNet 2016 copy not found at {home}")
    return home


@pytest.fixture(scope="session")
def wheel_site(tmp_path_factory):
    """The wheel ``pip install .`` would install, unpacked on its own (no repository):
    ``(site folder, names in the wheel)``."""
    tmp = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(tmp / "dist"), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp / "dist").glob("hbclf-*.whl")
    site = tmp / "site"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(site)
    return site, names
