"""The public namespace: every name in ``satclip.__all__`` resolves, and importing satclip stays light."""

import subprocess
import sys

import satclip


def test_public_names_resolve() -> None:
    for name in satclip.__all__:
        assert getattr(satclip, name) is not None
    from satclip.featurizer import SatCLIPFeaturizer

    assert satclip.SatCLIPFeaturizer is SatCLIPFeaturizer


def test_import_does_not_load_scikit_learn() -> None:
    code = (
        "import sys, satclip; print('sklearn' in sys.modules); satclip.SatCLIPFeaturizer; "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
