"""UMAP of an embedding grid in seconds: exact neighbours, a disk-cached JIT and a k-NN extension to every cell.

Where the time went before (bundled L=10 model, 0.5 deg grid, 259,200 cells, 2 cores): umap-learn's numba
functions are compiled in every new process (``cache=False`` in umap-learn), its nearest-neighbour descent
compiles pynndescent's search on first use, 500 epochs on a 10,000-cell sample, then a brute k-NN of every
cell against that sample. Here the neighbour graph of the sample comes from scikit-learn's exact search
(passed to UMAP as ``precomputed_knn``, so no NN-descent runs), umap-learn's jitted functions are cached on
disk under ``<satclip cache>/numba`` (compiled once per machine, not per process), pynndescent (imported by
umap-learn) compiles nothing at import (:func:`_lazy_signatures`), the layout runs 200 epochs
on a 5,000-cell area-weighted sample, and every cell gets the inverse-distance-weighted mean of the layout
coordinates of its ``knn`` nearest sample cells in embedding space. ``benchmarks/bench_projection.py``
measures the time and the faithfulness (trustworthiness) against the previous path.
"""

from __future__ import annotations

import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from satclip.cache import cache_dir

Fraction = Callable[[float], None]  # progress of the current stage in [0, 1]
_UMAP_MODULES = ("umap_", "layouts", "utils", "spectral")
_JIT_LOCK = threading.Lock()
_JIT_CACHED: set[str] = set()


def import_umap() -> ModuleType:
    """umap-learn, with its numba functions cached on disk (``$NUMBA_CACHE_DIR`` if set, else
    ``<satclip cache>/numba``) so that their compilation is paid once per machine."""
    with _JIT_LOCK:
        try:
            if "pynndescent" not in sys.modules:
                with _lazy_signatures():
                    import pynndescent  # noqa: F401 - umap-learn imports it; NN-descent is never run here
            import umap
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("UMAP needs the 'umap-learn' package: pip install umap-learn") from err
        if jit_cache_dir() not in _JIT_CACHED:
            _enable_jit_cache([getattr(umap, name, None) for name in _UMAP_MODULES])
            _JIT_CACHED.add(jit_cache_dir())
    return umap


@contextmanager
def _lazy_signatures() -> Iterator[None]:
    """While active, ``numba.njit``/``numba.jit`` ignore an explicit signature: the function compiles when first
    called instead of at once. For importing pynndescent, which umap-learn imports for NN-descent (never run
    here: the neighbour graph is exact and precomputed) and which compiles about 50 functions with signatures
    at import: 21 s of CPU time on an empty numba cache, half of a fresh install's first UMAP fit. Those
    functions still work if something calls them later (they compile then, for the types they are given)."""
    import numba

    eager: dict[str, Any] = {"njit": numba.njit, "jit": numba.jit}

    def lazy(decorator: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if args and not callable(args[0]):  # a signature (string, type signature or a list of them)
                args = args[1:]
            return decorator(*args, **kwargs)

        return wrapper

    for name, decorator in eager.items():
        setattr(numba, name, lazy(decorator))
    try:
        yield
    finally:
        for name, decorator in eager.items():
            setattr(numba, name, decorator)


def jit_cache_dir() -> str:
    """Where umap-learn's compiled functions are cached: ``$NUMBA_CACHE_DIR`` or ``<satclip cache>/numba``."""
    import numba

    config: Any = numba.config  # its settings are set at run time: invisible to type checkers
    return str(config.CACHE_DIR or cache_dir("numba"))


def _enable_jit_cache(modules: list[ModuleType | None]) -> None:
    """Turn on numba's on-disk cache for every uncached jitted function of ``modules`` (numba's own
    ``Dispatcher.enable_caching``; what ``@njit(cache=True)`` does). Numba picks the cache location when the
    cache is created, so its ``CACHE_DIR`` is set only for that moment and other libraries are untouched."""
    import numba
    from numba.core.dispatcher import Dispatcher

    config: Any = numba.config
    saved = config.CACHE_DIR
    config.CACHE_DIR = jit_cache_dir()
    try:
        for module in modules:
            for obj in vars(module).values() if module is not None else ():
                if isinstance(obj, Dispatcher) and type(getattr(obj, "_cache", None)).__name__ == "NullCache":
                    try:
                        obj.enable_caching()
                    except Exception:  # an uncachable function just compiles in each process, as before
                        continue
    finally:
        config.CACHE_DIR = saved


class _EpochStream:
    """A file for umap-learn's epoch bar (tqdm, formatted as ``n/total``) that forwards the fraction done."""

    def __init__(self, report: Fraction):
        self.report = report

    def write(self, text: str) -> None:
        found = re.findall(r"(\d+)/(\d+)", text)
        if found:
            done, total = map(int, found[-1])
            self.report(done / max(total, 1))

    def flush(self) -> None:
        pass


def umap_layout(
    x: np.ndarray,
    n_components: int,
    *,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int = 200,
    seed: int = 0,
    on_epoch: Fraction | None = None,
) -> np.ndarray:
    """UMAP layout (N, C) float32 of the rows of ``x``, on their exact ``n_neighbors`` graph (scikit-learn),
    reproducible for a given ``seed``."""
    from sklearn.neighbors import NearestNeighbors

    umap = import_umap()
    x = np.ascontiguousarray(x, dtype=np.float32)
    k = min(n_neighbors, len(x) - 1)
    dist, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)  # each row's first neighbour is itself
    tqdm_kwds = {
        "disable": on_epoch is None,
        "bar_format": "{n}/{total}",
        "mininterval": 0.25,
        "file": _EpochStream(on_epoch) if on_epoch is not None else None,
    }
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=k,
        min_dist=min_dist,
        n_epochs=n_epochs,
        random_state=seed,
        n_jobs=1,
        precomputed_knn=(idx, dist.astype(np.float32), None),
        tqdm_kwds=tqdm_kwds,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*")  # no search index: we need no transform
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        return reducer.fit_transform(x).astype(np.float32)


def knn_extend(
    queries: np.ndarray,
    sample: np.ndarray,
    layout: np.ndarray,
    k: int = 8,
    step: int = 16384,
    on_chunk: Fraction | None = None,
) -> np.ndarray:
    """Layout coordinates for ``queries``: the inverse-distance-weighted mean of the ``layout`` rows of their
    ``k`` nearest ``sample`` rows (Euclidean, exact). A query equal to a sample row gets that row's layout."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=min(k, len(sample))).fit(np.asarray(sample, dtype=np.float32))
    out = np.empty((len(queries), layout.shape[1]), dtype=np.float32)
    for start in range(0, len(queries), step):
        stop = min(start + step, len(queries))
        dist, idx = nn.kneighbors(np.asarray(queries[start:stop], dtype=np.float32))
        w = 1.0 / np.maximum(dist, 1e-6)
        out[start:stop] = np.einsum("nk,nkc->nc", w / w.sum(axis=1, keepdims=True), layout[idx])
        if on_chunk is not None:
            on_chunk(stop / len(queries))
    return out
