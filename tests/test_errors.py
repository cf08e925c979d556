"""One error path: every library error is a SatCLIPError (and keeps its builtin base); every CLI command
prints it as one line with exit status 1; a missing optional package names the extra to install."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from satclip import errors
from satclip.cli.common import needs_extra, user_errors
from satclip.extras import require_extra

OLD_BASES = {
    "CoordinateError": ValueError,
    "TableError": ValueError,
    "ConfigError": ValueError,
    "CheckpointError": ValueError,
    "DatasetError": ValueError,
    "DataPreparationError": RuntimeError,
    "AssetError": RuntimeError,
    "AssetMissingError": FileNotFoundError,
    "MissingExtraError": ImportError,
    "NotFittedError": ValueError,
}


@pytest.mark.parametrize("name", sorted(OLD_BASES))
def test_every_error_is_a_satclip_error_and_keeps_its_builtin_base(name: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, errors.SatCLIPError) and issubclass(cls, OLD_BASES[name])


def test_modules_reexport_the_same_classes() -> None:
    from satclip import checkpoints, configs, geo, tables
    from satclip.data import assets, bluemarble
    from satclip.data import image_datasets as datasets

    assert geo.CoordinateError is errors.CoordinateError and tables.TableError is errors.TableError
    assert configs.ConfigError is errors.ConfigError and checkpoints.CheckpointError is errors.CheckpointError
    assert datasets.DatasetError is errors.DatasetError and assets.AssetMissingError is errors.AssetMissingError
    assert bluemarble.DataPreparationError is errors.DataPreparationError


def test_package_defines_no_exception_outside_errors_module() -> None:
    """New exception types belong in satclip/errors.py under SatCLIPError (grep-style guard)."""
    import re
    from pathlib import Path

    root = Path(errors.__file__).parent
    offenders = [
        f"{p.relative_to(root)}: {m}"
        for p in root.rglob("*.py")
        if p.name != "errors.py"
        for m in re.findall(r"^class (\w+(?:Error|Exception))\(", p.read_text(), flags=re.M)
    ]
    assert not offenders, offenders


def test_require_extra_names_the_extra() -> None:
    require_extra("train", "json")  # present: no error
    with pytest.raises(errors.MissingExtraError) as info:
        require_extra("explore", "no_such_module_for_satclip_test")
    assert "no_such_module_for_satclip_test" in str(info.value) and "satclip[explore]" in str(info.value)


def test_cli_decorators_print_one_line_and_exit_1() -> None:
    app = typer.Typer()

    @app.command("bad")
    @user_errors
    def bad() -> None:
        raise errors.CheckpointError("model file x.safetensors is corrupt")

    @app.command("needs")
    @needs_extra("hub", "no_such_module_for_satclip_test")
    def needs() -> None:
        raise AssertionError("must not run without its extra")

    r = CliRunner().invoke(app, ["bad"])
    assert r.exit_code == 1 and r.output.strip() == "error: model file x.safetensors is corrupt"
    r = CliRunner().invoke(app, ["needs"])
    assert r.exit_code == 1 and "pip install 'satclip[hub]'" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
