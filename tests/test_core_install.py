"""The core install as a user gets it: the wheel built from this tree, installed with only its core
dependencies into a clean venv, loads a model and embeds a point through the API and the CLI; a command
of an extra that is not installed says which extra to install.

Needs a package index (CI has one; here pip's own configuration points at local wheels and mirrors):
if pip cannot install the core dependencies the test fails and shows pip's error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_IN_CORE = ("sklearn", "lightning", "umap", "matplotlib", "h5py", "shapely", "yaml", "streamlit", "scipy")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # builds a venv and installs torch into it: minutes on a loaded machine
def test_core_wheel_in_a_clean_venv_embeds_points(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    wheels = tmp_path / "wheels"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        tmp_path,
        env,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(wheels.glob("satclip-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)  # clean: no system packages
    py, satclip_cli = venv / "bin" / "python", venv / "bin" / "satclip"
    installed = _run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            str(ROOT / "constraints.txt"),
            str(wheel),
        ],
        tmp_path,
        env,
    )
    assert installed.returncode == 0, (
        f"pip could not install the core wheel (needs a package index):\n{installed.stderr[-3000:]}"
    )

    api = _run(
        [
            str(py),
            "-c",
            (
                "import importlib.util, satclip\n"
                f"missing = [m for m in {NOT_IN_CORE!r} if importlib.util.find_spec(m) is None]\n"
                f"assert missing == list({NOT_IN_CORE!r}), ('core install pulled in',\n"
                f"                                          set({NOT_IN_CORE!r}) - set(missing))\n"
                "assert satclip.__file__.startswith(" + repr(str(venv)) + "), satclip.__file__\n"
                "e = satclip.load()\n"
                "x = e.embed([[2.35, 48.85]])\n"
                "assert x.shape == (1, e.dim) and x.dtype.name == 'float32'\n"
                "import pandas as pd\n"
                "f = satclip.SatCLIPFeaturizer().fit(None)\n"
                "assert f.transform(pd.DataFrame({'lon': [2.35], 'lat': [48.85]})).shape == (1, e.dim)\n"
                "print('api ok', e.name, e.dim)\n"
            ),
        ],
        tmp_path,
        env,
    )
    assert api.returncode == 0 and "api ok" in api.stdout, api.stderr[-3000:]

    (tmp_path / "points.csv").write_text("id,lon,lat\n1,2.35,48.85\n2,-74.0,40.7\n")
    cli = _run([str(satclip_cli), "embed", "points.csv", "-o", "points.parquet"], tmp_path, env)
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert "wrote 2 embeddings" in cli.stdout and (tmp_path / "points.parquet").is_file()

    for command, extra in (
        (["similar", "2.35", "48.85"], "explore"),
        (["train", "--config", "x.yaml"], "train"),
        (["evaluate"], "eval"),
    ):
        res = _run([str(satclip_cli), *command], tmp_path, env)
        assert res.returncode == 1, (command, res.stdout, res.stderr[-2000:])
        assert f"pip install 'satclip[{extra}]'" in res.stderr and "Traceback" not in res.stderr, res.stderr
