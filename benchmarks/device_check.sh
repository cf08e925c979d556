#!/usr/bin/env bash
# GPU check (about 1 minute on one H100/H200): core tests on CUDA, the Lightning training path on
# the GPU, and CUDA throughput. Run from the repository root on a machine with a GPU and PyTorch.
set -u
export PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/positional/test_spherical_harmonics.py \
  tests/test_location_encoder.py tests/test_checkpoints.py tests/test_inference.py -k "not memory"
python3 benchmarks/gpu_check.py
python3 benchmarks/bench_cuda.py
