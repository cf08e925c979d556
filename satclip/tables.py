"""Embed the points of a CSV/Parquet file into Parquet/CSV/NPY, streaming in chunks.

Memory is bounded by the chunk size whatever the number of rows; input columns are carried
through (Parquet/CSV output); the output appears atomically, only once every row is written.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from satclip.cache import atomic_path
from satclip.errors import TableError
from satclip.geo import CoordinateError, find_lonlat_columns, validate_lonlat
from satclip.inference import Encoder

INPUT_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".npy": "npy"}


def _format(path: Path, table: dict[str, str], what: str) -> str:
    fmt = table.get(path.suffix.lower())
    if fmt is None:
        raise TableError(f"{path}: unsupported {what} format {path.suffix!r}; use one of {sorted(table)}")
    return fmt


def _sep(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


_EXTRA = "\x00satclip-extra-field"  # sentinel column: catches rows with more fields than the header


def _read_errors() -> tuple[type[BaseException], ...]:
    """The exceptions pandas and pyarrow raise for a malformed or undecodable table file."""
    return (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowInvalid, UnicodeDecodeError)


def read_chunks(path: str | os.PathLike[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most ``chunk_rows`` rows from a CSV/TSV or Parquet file.

    Refused with :class:`TableError`: duplicate column names (pandas would rename the second ``lon``
    to ``lon.1``) and CSV rows with more fields than the header (pandas would silently turn the extra
    leading field into the index and shift the row), named by their 0-based data row.

    Args:
        path: a ``.csv``, ``.tsv``, ``.txt`` (comma-separated), ``.parquet`` or ``.pq`` file.
        chunk_rows: the most rows per chunk (memory is bounded by it).

    Yields:
        DataFrames with the file's columns, in file order; CSV values are typed by pandas per chunk.

    Raises:
        TableError: raised on the first ``next`` (this is a generator) or mid-way: the file is missing, has an
            unsupported extension, a header that looks separated by another character, duplicate columns, a
            row with more fields than the header, or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"input file not found: {path}")
    fmt = _format(path, INPUT_FORMATS, "input")
    header = _columns(path)
    try:
        if fmt == "csv":
            yield from _csv_chunks(path, header, chunk_rows)
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except _read_errors() as err:
        raise TableError(f"{path}: cannot read as {fmt}: {err}") from err


def _csv_chunks(path: Path, header: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """pandas chunks, with a row that has more fields than the header turned into an error naming it."""
    reader = pd.read_csv(path, sep=_sep(path), chunksize=chunk_rows, index_col=False)
    with reader:
        while True:
            try:
                with warnings.catch_warnings():  # index_col=False warns (and drops data) on too many fields
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    chunk = next(reader, None)
            except (pd.errors.ParserWarning, pd.errors.ParserError) as err:
                row = _first_long_row(path, len(header))
                if row is None:
                    raise TableError(f"{path}: cannot read as csv: {err}") from err
                where = where_in_file(path, row)
                raise TableError(
                    f"{path}: row {row} has more fields than the header ({len(header)} columns){where}"
                ) from None
            if chunk is None:
                return
            yield chunk


def where_in_file(path: str | os.PathLike[str], row: int) -> str:
    """The end of an error message saying where 0-based data row ``row`` of a table file is: its line in a
    CSV/TSV (header and blank lines counted, as an editor shows them), or how Parquet rows are counted.

    Args:
        path: the table file (CSV, TSV or Parquet).
        row: the 0-based data row an error names.

    Returns:
        "; row 3 is line 6 of the file (rows are counted from 0 after the header)" for a CSV/TSV (see
        :func:`where_in_csv`), " (rows are counted from 0)" for Parquet.
    """
    path = Path(path)
    if _format(path, INPUT_FORMATS, "input") != "csv":
        return " (rows are counted from 0)"
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            return where_in_csv(f, row, _sep(path))
    except OSError:
        return where_in_csv([], row)


def where_in_csv(lines: Iterable[str], row: int, delimiter: str = ",") -> str:
    """The end of an error message saying on which line of a CSV text 0-based data row ``row`` starts, as an
    editor numbers lines (header and blank lines counted; a quoted field may span lines).

    Args:
        lines: the CSV text as lines (an open file or a ``StringIO``), header first.
        row: the 0-based data row (header not counted, blank lines skipped, as pandas reads them).
        delimiter: the field separator.

    Returns:
        "; row 3 is line 6 of the file (rows are counted from 0 after the header)", or only the parenthesis
        when the line cannot be found (too few rows, or a field over the csv module's size limit).
    """
    counting = "(rows are counted from 0 after the header)"
    reader = csv.reader(lines, delimiter=delimiter)
    index, start = -1, 1  # the header is record -1
    try:
        for record in reader:
            if not _blank(record):
                if index == row:
                    return f"; row {row} is line {start} of the file {counting}"
                index += 1
            start = reader.line_num + 1
    except csv.Error:
        pass
    return f" {counting}"


def _first_long_row(path: Path, n_fields: int) -> int | None:
    """0-based data row of the first CSV record with more than ``n_fields`` fields (blank lines skipped)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return first_long_row(f, n_fields, _sep(path))


def _blank(record: list[str]) -> bool:
    """A record pandas skips as a blank line: nothing, or one field of spaces."""
    return not record or (len(record) == 1 and not record[0].strip())


def first_long_row(lines: Iterable[str], n_fields: int, delimiter: str = ",") -> int | None:
    """0-based data row of the first CSV record in ``lines`` (header first) with more than ``n_fields``
    fields, blank lines skipped. pandas would make such a row's first field the index (shifting every
    column) or drop its extra fields, so readers refuse it naming this row.

    Args:
        lines: the CSV text as lines (an open file or a ``StringIO``), header first.
        n_fields: the number of columns of the header.
        delimiter: the field separator.

    Returns:
        The 0-based data row (header not counted), or None when no record has too many fields or the text
        cannot be split into records (a field over the csv module's size limit): callers then report the
        parser's own error.
    """
    records = (r for r in csv.reader(lines, delimiter=delimiter) if not _blank(r))
    try:
        next(records, None)  # the header
        for row, record in enumerate(records):
            if len(record) > n_fields:
                return row
    except csv.Error:
        return None
    return None


def separator_problem(header: list[str], sep: str) -> str | None:
    """What is wrong when a CSV header read with ``sep`` came out as one column that holds another separator
    (a European-locale export with ';', a TSV named .csv): said instead of a later "no longitude column".

    Args:
        header: the column names as read.
        sep: the separator they were read with (``","`` or ``"\\t"``).

    Returns:
        A message naming the separator found and the fix, or None when the header looks right.
    """
    if len(header) != 1:
        return None
    found = [(c, said) for c, said in ((";", "';'"), ("\t", "tabs"), ("|", "'|'"), (",", "commas")) if c in header[0]]
    if not found or found[0][0] == sep:
        return None
    c, said = found[0]
    fix = "rename it to .tsv" if c == "\t" else "rename it to .csv" if c == "," else "re-save it with commas"
    expected = "tabs" if sep == "\t" else "commas"
    return (
        f"the header {header[0]!r} is one column: the file looks separated by {said}, "
        f"but its extension says {expected}; {fix}"
    )


def _columns(path: Path) -> list[str]:
    """The header of a table file, as written (no renaming of duplicates); duplicates are refused."""
    fmt = _format(path, INPUT_FORMATS, "input")
    try:
        if fmt == "csv":
            first = pd.read_csv(path, sep=_sep(path), header=None, nrows=1, dtype=str, keep_default_na=False)
            names = [str(c) if c != "" else f"Unnamed: {i}" for i, c in enumerate(first.iloc[0])] if len(first) else []
        else:
            names = list(pq.ParquetFile(path).schema_arrow.names)
    except _read_errors() as err:
        raise TableError(f"{path}: cannot read as {fmt}: {err}") from err
    if fmt == "csv":
        problem = separator_problem(names, _sep(path))
        if problem:
            raise TableError(f"{path}: {problem}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TableError(f"{path}: duplicate column {dupes[0]!r} in the header: rename one of them")
    return names


def count_rows(path: str | os.PathLike[str], chunk_rows: int = 1_000_000) -> int:
    """Number of data rows (Parquet: from metadata; CSV: one streaming pass).

    Args:
        path: a table file as accepted by :func:`read_chunks`.
        chunk_rows: rows per pass of the CSV reader (bounds memory).

    Returns:
        The number of data rows (the header not counted).

    Raises:
        TableError: an unsupported extension, a corrupt Parquet file, or a CSV whose header or rows cannot be
            parsed (see :func:`read_chunks`).
    """
    path = Path(path)
    if _format(path, INPUT_FORMATS, "input") == "parquet":
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except _read_errors() as err:
            raise TableError(f"{path}: cannot read as parquet: {err}") from err
    first = _columns(path)[:1]  # one column is enough to count; rows are checked when they are read
    try:
        return sum(len(c) for c in pd.read_csv(path, sep=_sep(path), usecols=first, chunksize=chunk_rows))
    except _read_errors() as err:
        raise TableError(f"{path}: cannot read as csv: {err}") from err


_FIXED_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}
_PER_VALUE_OVERHEAD = 64  # bytes per string value once in pandas (a Python str object and its pointer)


def read_table(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    max_rows: int,
    max_bytes: int,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A whole Parquet file as a DataFrame, refused with :class:`TableError` before anything is decompressed
    when it has more than ``max_rows`` rows or its ``columns`` (default: all) would take more than
    ``max_bytes`` in memory: a few-kB file can hold a dictionary-encoded string repeated to gigabytes.

    The size comes from the file's metadata (row count, value counts and uncompressed sizes of each column
    chunk); dictionary-encoded string columns are then measured by reading their dictionary and indices
    only (a few bytes per row), never by expanding them.

    Args:
        source: a Parquet file's path or an open binary file (e.g. an upload).
        max_rows: the most rows accepted.
        max_bytes: the most bytes the selected columns may take once decoded in memory (an upper estimate).
        columns: the columns to read (default: all).

    Returns:
        The selected columns as a DataFrame.

    Raises:
        TableError: too many rows, too many bytes (naming the largest column), duplicate or missing columns,
            nested dictionary-encoded strings, or a file that is not readable Parquet; the message names the
            file.
    """
    name = str(getattr(source, "name", None) or source)
    try:
        pf = pq.ParquetFile(source)
        rows = pf.metadata.num_rows
        if rows > max_rows:
            raise TableError(f"{name} has {rows:,} rows; the limit is {max_rows:,}")
        names = list(pf.schema_arrow.names)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise TableError(f"{name}: duplicate column {dupes[0]!r}: rename one of them")
        wanted = names if columns is None else list(columns)
        missing = [c for c in wanted if c not in names]
        if missing:
            raise TableError(f"{name}: column {missing[0]!r} not found; columns are {names}")
        sizes, dictionary = _metadata_sizes(pf, wanted)
        _check_size(name, sizes, max_bytes)
        if dictionary:
            extra = _dictionary_string_bytes(source, pf, dictionary)
            _check_size(name, {c: sizes[c] + extra.get(c, 0) for c in wanted}, max_bytes)
        return pf.read(columns=wanted).to_pandas()
    except TableError:
        raise
    except (pa.ArrowException, OSError, ValueError) as err:
        raise TableError(f"cannot read {name} as parquet: {err}") from err


def _check_size(name: str, sizes: dict[str, int], max_bytes: int) -> None:
    total = sum(sizes.values())
    if total > max_bytes:
        col = max(sizes, key=lambda c: sizes[c])
        raise TableError(
            f"{name} would take {total / 2**20:,.0f} MiB decompressed (column {col!r}: "
            f"{sizes[col] / 2**20:,.0f} MiB); the limit is {max_bytes / 2**20:,.0f} MiB"
        )


def _metadata_sizes(pf: pq.ParquetFile, columns: list[str]) -> tuple[dict[str, int], list[str]]:
    """Upper estimates of the in-memory size of each top-level column from the metadata alone, and the
    flat string columns stored with a dictionary (their decoded size is not in the metadata)."""
    md, schema = pf.metadata, pf.schema
    sizes = dict.fromkeys(columns, 0)
    dictionary: list[str] = []
    for i in range(len(schema)):
        leaf = schema.column(i)
        top = leaf.path.split(".")[0]
        if top not in sizes:
            continue
        width = leaf.length if leaf.physical_type == "FIXED_LEN_BYTE_ARRAY" else _FIXED_WIDTH.get(leaf.physical_type)
        for g in range(md.num_row_groups):
            chunk = md.row_group(g).column(i)
            if width is not None:
                sizes[top] += chunk.num_values * (width + 1)
                continue
            sizes[top] += chunk.total_uncompressed_size + chunk.num_values * _PER_VALUE_OVERHEAD
            if any("DICTIONARY" in e for e in chunk.encodings):
                if leaf.path != top:
                    raise TableError(f"column {top!r}: nested dictionary-encoded strings are not supported")
                if top not in dictionary:
                    dictionary.append(top)
    return sizes, dictionary


def _dictionary_string_bytes(source: Any, pf: pq.ParquetFile, columns: list[str]) -> dict[str, int]:
    """Decoded bytes of dictionary-encoded string columns, read as dictionaries (distinct values once plus
    one index per row), one row group at a time."""
    if hasattr(source, "seek"):
        source.seek(0)
    reader = pq.ParquetFile(source, metadata=pf.metadata, read_dictionary=columns)
    out = dict.fromkeys(columns, 0)
    for g in range(pf.metadata.num_row_groups):
        for col in columns:
            for chunk in reader.read_row_group(g, columns=[col]).column(0).chunks:
                if not pa.types.is_dictionary(chunk.type):
                    out[col] += int(pc.sum(pc.binary_length(chunk)).as_py() or 0)
                    continue
                lengths = pc.binary_length(chunk.dictionary).fill_null(0).to_numpy(zero_copy_only=False)
                idx = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
                out[col] += int(lengths.astype(np.int64)[idx].sum()) if idx.size else 0
    return out


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

    Args:
        src: input table (see :func:`read_chunks`) with lon/lat columns in degrees.
        dst: output ``.parquet``/``.pq``, ``.csv`` or ``.npy`` file; written atomically, replaced if it exists.
        encoder: the loaded encoder (:func:`satclip.load`).
        chunk_rows: rows read and written at a time (bounds memory).
        batch_size: points per forward pass of the encoder.
        wrap: wrap longitudes outside [-180, 180] instead of refusing the row.
        lon_col: the longitude column, when it is not one of the usual names (see
            :func:`satclip.geo.find_lonlat_columns`).
        lat_col: the latitude column, likewise.
        prefix: name prefix of the embedding columns (Parquet/CSV output).
        progress: called with the number of rows done after each chunk.

    Returns:
        The number of rows written.

    Raises:
        ValueError: ``chunk_rows`` < 1.
        TableError: an unsupported input or output extension, a missing input, ``dst`` being ``src``,
            embedding column names already in the input, an unreadable table, or (Parquet output) column types
            that change between chunks.
        CoordinateError: the lon/lat columns cannot be found or hold invalid values; names the file and the
            rows (counted from 0 over the whole file), and the line of a CSV/TSV where the first one is.
    """
    src, dst = Path(src), Path(dst)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    out_fmt = _format(dst, OUTPUT_FORMATS, "output")
    if not src.is_file():
        raise TableError(f"input file not found: {src}")
    if dst.exists() and os.path.samefile(src, dst):
        raise TableError(f"output {dst} is the input file {src}: choose another output path")
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
                try:
                    coords = validate_lonlat(chunk, wrap=wrap, lon_col=lon_name, lat_col=lat_name, row_offset=done)
                except CoordinateError as err:
                    where = where_in_file(src, err.rows[0]) if err.rows else ""
                    raise CoordinateError(f"{src}: {err}{where}", rows=err.rows) from None
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
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
            "fortran_order": False,
            "shape": (total or 0, len(emb_names)),
        }
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


__all__ = [
    "CoordinateError",
    "TableError",
    "count_rows",
    "embed_file",
    "first_long_row",
    "read_chunks",
    "read_table",
    "separator_problem",
    "where_in_csv",
    "where_in_file",
]
