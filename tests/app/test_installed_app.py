"""The app as a user gets it from a wheel: built from this tree, installed into a fresh prefix, found by
``satclip app``'s search, and run from there (its own pages and helpers, the installed satclip) outside the
checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from satclip.cli.launch_app import find_app_script
from tests.app.conftest import ROOT


@pytest.mark.slow
def test_wheel_installs_the_app_where_satclip_app_finds_it(tmp_path: Path, app_env: dict[str, str]) -> None:
    def installed_here() -> bool:  # satclip as installed in the environment running the tests (not the checkout)
        return (
            subprocess.run(
                [sys.executable, "-m", "pip", "show", "-q", "satclip"], cwd=tmp_path, capture_output=True
            ).returncode
            == 0
        )

    was_installed = installed_here()
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    prefix = tmp_path / "prefix"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "--ignore-installed",
            "-q",
            "--prefix",
            str(prefix),
            str(next(wheels.glob("satclip-*.whl"))),
        ],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert installed_here() == was_installed  # --ignore-installed: pip must not uninstall the environment's copy
    site = next(prefix.glob("lib/python3*/site-packages"))
    app_dir = prefix / "share" / "satclip" / "app"
    assert (site / "satclip" / "weights" / "satclip-bluemarble-l10.safetensors").is_file()
    assert sorted(p.name for p in (app_dir / "pages").glob("*.py")) == sorted(
        p.name for p in (ROOT / "app" / "pages").glob("*.py")
    )

    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_app_script([tmp_path / "nowhere"])
    script = find_app_script([tmp_path / "nowhere", app_dir])
    assert script == app_dir / "streamlit_app.py"

    code = textwrap.dedent(f"""
        import satclip
        assert satclip.__file__.startswith({str(site)!r}), satclip.__file__
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({str(script)!r}, default_timeout=240).run()
        assert not at.exception, [e.value for e in at.exception]
        import appkit
        assert appkit.__file__.startswith({str(app_dir)!r}), appkit.__file__
        print("maps:", len(at.get("component_instance")))
    """)
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "maps: 1" in res.stdout  # the Explore page rendered its world map
