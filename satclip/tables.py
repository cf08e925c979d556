"""Embed the points of a CSV/Parquet file into Parquet/CSV/NPY, streaming in chunks.

Memory is bounded by the chunk size whatever the number of rows; input columns are carried
through (Parquet/CSV output); the output appears atomically, only once every row is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from satclip.cache import atomic_path
from satclip.encoder import Encoder
from satclip.errors import TableError
from satclip.geo import CoordinateError, find_lonlat_columns, validate_lonlat

INPUT_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".npy": "npy"}


def _format(path: Path, table: dict[str, str], what: str) -> str:
    fmt = table.get(path.suffix.lower())
    if fmt is None:
        raise TableError(f"{path}: unsupported {what} format {path.suffix!r}; use one of {sorted(table)}")
    return fmt


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def read_chunks(path: str | os.PathLike[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most ``chunk_rows`` rows from a CSV/TSV or Parquet file."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"input file not found: {path}")
    fmt = _format(path, INPUT_FORMATS, "input")
    try:
        if fmt == "csv":
            yield from pd.read_csv(path, sep=_sep(path), chunksize=chunk_rows)
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowInvalid, UnicodeDecodeError) as err:
        raise TableError(f"{path}: cannot read as {fmt}: {err}") from err


def _columns(path: Path) -> list[str]:
    fmt = _format(path, INPUT_FORMATS, "input")
    try:
        if fmt == "csv":
            return [str(c) for c in pd.read_csv(path, sep=_sep(path), nrows=0).columns]
        return list(pq.ParquetFile(path).schema_arrow.names)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowInvalid, UnicodeDecodeError) as err:
        raise TableError(f"{path}: cannot read as {fmt}: {err}") from err


def count_rows(path: str | os.PathLike[str], chunk_rows: int = 1_000_000) -> int:
    """Number of data rows (Parquet: from metadata; CSV: one streaming pass)."""
    path = Path(path)
    if _format(path, INPUT_FORMATS, "input") == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    first = _columns(path)[:1]
    return sum(len(c) for c in pd.read_csv(path, sep=_sep(path), usecols=first, chunksize=chunk_rows))


def embed_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    encoder: Encoder,
    *,
    chunk_rows: int = 100_000,
    batch_size: int = 8192,
    wrap: bool = False,
    lon_col: str | None = None,
    lat_col: str | None = None,
    prefix: str = "emb_",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Embed every row of ``src`` into ``dst``; returns the number of rows written.

    Parquet/CSV output holds the input columns followed by ``{prefix}0..{prefix}{D-1}`` (float32);
    NPY output holds the (N, D) float32 embeddings only. ``progress(rows_done)`` after each chunk.
    Any invalid row aborts the whole run with an error naming it, and leaves no output file.
    """
    src, dst = Path(src), Path(dst)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    out_fmt = _format(dst, OUTPUT_FORMATS, "output")
    columns = _columns(src)
    lon_name, lat_name = find_lonlat_columns(columns, lon_col, lat_col)
    emb_names = [f"{prefix}{i}" for i in range(encoder.dim)]
    clash = sorted(set(emb_names) & set(columns))
    if clash:
        raise TableError(f"input already has columns {clash[:5]}: choose another prefix (--prefix)")
    total = count_rows(src) if out_fmt == "npy" else None
    done = 0
    with atomic_path(dst) as tmp:
        writer: _Writer = {"parquet": _ParquetWriter, "csv": _CsvWriter, "npy": _NpyWriter}[out_fmt](
            tmp, emb_names, total
        )
        try:
            for chunk in read_chunks(src, chunk_rows):
                coords = validate_lonlat(chunk, wrap=wrap, lon_col=lon_name, lat_col=lat_name, row_offset=done)
                emb = encoder.embed(coords, batch_size=batch_size)
                if wrap:
                    chunk = chunk.copy()
                    chunk[lon_name] = coords[:, 0]
                writer.write(chunk, emb)
                done += len(chunk)
                if progress is not None:
                    progress(done)
            writer.close(columns)
        except BaseException:
            writer.abort()
            raise
    return done


class _Writer:
    def __init__(self, path: Path, emb_names: list[str], total: int | None) -> None:
        self.path, self.emb_names, self.total = path, emb_names, total

    def write(self, chunk: pd.DataFrame, emb: np.ndarray) -> None:
        raise NotImplementedError

    def close(self, columns: list[str]) -> None:
        """Finish the file (``columns``: the input's columns, for an empty input's header)."""

    def abort(self) -> None:
        """Release resources after a failure (the temporary file is removed by the caller)."""


class _ParquetWriter(_Writer):
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None

    def write(self, chunk: pd.DataFrame, emb: np.ndarray) -> None:
        table = pa.Table.from_pandas(chunk.reset_index(drop=True), preserve_index=False)
        for i, name in enumerate(self.emb_names):
            table = table.append_column(name, pa.array(emb[:, i], type=pa.float32()))
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, self.schema)
        else:
            try:
                table = table.cast(self.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as err:
                raise TableError(f"column types change between chunks and cannot be unified: {err}") from err
        self.writer.write_table(table)

    def close(self, columns: list[str]) -> None:
        if self.writer is None:  # empty input: write the schema only
            fields = [pa.field(c, pa.string()) for c in columns] + [pa.field(n, pa.float32()) for n in self.emb_names]
            pq.write_table(pa.Table.from_pylist([], schema=pa.schema(fields)), self.path)
        else:
            self.writer.close()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()


class _CsvWriter(_Writer):
    started = False

    def write(self, chunk: pd.DataFrame, emb: np.ndarray) -> None:
        out = pd.concat([chunk.reset_index(drop=True), pd.DataFrame(emb, columns=self.emb_names)], axis=1)
        out.to_csv(self.path, mode="a" if self.started else "w", header=not self.started, index=False)
        self.started = True

    def close(self, columns: list[str]) -> None:
        if not self.started:
            pd.DataFrame(columns=columns + self.emb_names).to_csv(self.path, index=False)


class _NpyWriter(_Writer):
    """Header for the known (N, D) shape, then each chunk appended with plain sequential writes (a
    memory map would keep every written page resident until the end)."""

    def __init__(self, path: Path, emb_names: list[str], total: int | None) -> None:
        super().__init__(path, emb_names, total)
        self.file = open(path, "wb")  # closed in close() or abort()
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": (total or 0, len(emb_names))}
        np.lib.format.write_array_header_2_0(self.file, header)
        self.done = 0

    def write(self, chunk: pd.DataFrame, emb: np.ndarray) -> None:
        if self.done + len(emb) > (self.total or 0):
            raise TableError("input grew while it was being read")
        self.file.write(np.ascontiguousarray(emb, dtype=np.float32).tobytes())
        self.done += len(emb)

    def close(self, columns: list[str]) -> None:
        self.file.close()
        if self.done != (self.total or 0):
            raise TableError(f"expected {self.total} rows but read {self.done}: input changed while reading")

    def abort(self) -> None:
        self.file.close()


__all__ = ["CoordinateError", "TableError", "count_rows", "embed_file", "read_chunks"]
