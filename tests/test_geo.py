"""Coordinate validation, sampling, grids and distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from satclip.geo import (
    CoordinateError,
    find_lonlat_columns,
    haversine_km,
    lonlat_grid,
    lonlat_to_xyz,
    sample_uniform_sphere,
    validate_lonlat,
)


def test_accepts_arrays_lists_single_pairs_and_dataframes() -> None:
    np.testing.assert_array_equal(validate_lonlat([[1, 2], [3, 4]]), [[1.0, 2.0], [3.0, 4.0]])
    assert validate_lonlat((10.5, -3.0)).shape == (1, 2)
    for lon, lat in [("lon", "lat"), ("Longitude", "LATITUDE"), ("lng", "lat")]:
        df = pd.DataFrame({lat: [1.0, 2.0], "other": ["a", "b"], lon: [30.0, 40.0]})
        np.testing.assert_array_equal(validate_lonlat(df), [[30.0, 1.0], [40.0, 2.0]])


@pytest.mark.parametrize(
    "data, message",
    [
        ([[0, 0], [np.nan, 1], [0, 0], [1, np.inf]], r"non-finite .* rows 1, 3"),
        ([[0, 0], [0, 91]], r"latitude outside \[-90, 90\] at row 1.*swapped"),
        ([[181, 0]], r"longitude outside \[-180, 180\] at row 0; pass wrap=True"),
        ([[1, 2, 3]], r"expected an \(N, 2\) array"),
        ([["a", "b"]], "must be numeric"),
    ],
)
def test_bad_coordinates_raise_naming_rows(data, message: str) -> None:
    with pytest.raises(CoordinateError, match=message):
        validate_lonlat(data)


def test_many_bad_rows_are_summarised_and_offset_applies() -> None:
    data = np.zeros((30, 2))
    data[5:25, 1] = 100
    with pytest.raises(CoordinateError, match=r"rows 105, 106.*\(and 10 more\)"):
        validate_lonlat(data, row_offset=100)


def test_wrap_is_opt_in_and_wraps_into_range() -> None:
    out = validate_lonlat([[190, 0], [-540, 10], [180, 5]], wrap=True)
    np.testing.assert_allclose(out[:, 0], [-170, 180 - 360, 180 - 360])


def test_dataframe_column_errors() -> None:
    with pytest.raises(CoordinateError, match="no latitude column"):
        validate_lonlat(pd.DataFrame({"lon": [1.0], "y": [2.0]}))
    with pytest.raises(CoordinateError, match="ambiguous longitude columns"):
        find_lonlat_columns(["lon", "longitude", "lat"])
    with pytest.raises(CoordinateError, match="not numeric"):
        validate_lonlat(pd.DataFrame({"lon": ["x"], "lat": [2.0]}))
    assert find_lonlat_columns(["x", "y"], lon_col="x", lat_col="y") == ("x", "y")


def test_uniform_sphere_sampling_is_area_uniform_and_seeded() -> None:
    a = sample_uniform_sphere(200_000, seed=1)
    np.testing.assert_array_equal(a, sample_uniform_sphere(200_000, seed=1))
    # Fraction within 30 deg of the equator is sin(30 deg) = 0.5 for an area-uniform sample.
    assert abs(np.mean(np.abs(a[:, 1]) < 30) - 0.5) < 0.005
    np.testing.assert_allclose(np.linalg.norm(lonlat_to_xyz(a[:10]), axis=1), 1.0)


def test_grid_and_distances() -> None:
    lons, lats, pts = lonlat_grid(1.0)
    assert lons.size == 360 and lats.size == 180 and pts.shape == (360 * 180, 2)
    assert lats[0] == 89.5 and lats[-1] == -89.5 and lons[0] == -179.5
    assert haversine_km(np.array([0.0, 0.0]), np.array([180.0, 0.0])) == pytest.approx(np.pi * 6371.0088)
    assert haversine_km(np.array([179.9, 0.0]), np.array([-179.9, 0.0])) == pytest.approx(22.24, abs=0.01)


def test_same_name_in_two_cases_is_ambiguous() -> None:
    with pytest.raises(CoordinateError, match=r"ambiguous longitude columns \['lon', 'LON'\]"):
        find_lonlat_columns(["lon", "LON", "lat"])
    with pytest.raises(CoordinateError, match="ambiguous longitude"):
        validate_lonlat(pd.DataFrame({"lon": [1.0], "LON": [50.0], "lat": [2.0]}))


def test_duplicate_columns_in_a_dataframe_are_named() -> None:
    df = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["lon", "lon", "lat"])
    with pytest.raises(CoordinateError, match="duplicate column 'lon'"):
        validate_lonlat(df)
    with pytest.raises(CoordinateError, match="duplicate column 'lat'"):
        find_lonlat_columns(["x", "lat", "lat"], lon_col="x")


def test_pandas_renamed_duplicate_is_refused() -> None:
    # pandas.read_csv renames a second 'lon' to 'lon.1': the user meant two lon columns
    with pytest.raises(CoordinateError, match=r"duplicate column 'lon' \(read as 'lon.1'\)"):
        find_lonlat_columns(["lon", "lat", "lon.1"])
