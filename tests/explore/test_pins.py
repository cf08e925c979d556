"""Multi-pin search (issue 12): weighted like/unlike pins on a real bundled model, pin files in and out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satclip.explore.grid import build_grid
from satclip.explore.pins import (
    PinError,
    make_pins,
    pins_to_csv,
    pins_to_geojson,
    read_pins,
    search,
    validate_pins,
    write_pins,
)
from satclip.explore.similarity import similarity_map
from satclip.geo import CoordinateError
from satclip.tables import TableError

SAHARA, ARABIA, AMAZON, GREENLAND = (10.0, 25.0), (45.0, 23.0), (-62.0, -3.0), (-40.0, 72.0)


@pytest.fixture(scope="module")
def bluemarble():
    import satclip

    enc = satclip.load("satclip-bluemarble-l10")
    return enc, build_grid(enc, 2.0)


def test_like_sahara_ranks_arabia_above_the_amazon(bluemarble):
    enc, grid = bluemarble
    s = search(grid, make_pins(like=[SAHARA]), enc)
    arabia, amazon = s.at([ARABIA, AMAZON])
    assert arabia > amazon + 0.2, (arabia, amazon)
    assert s.label == "cosine similarity"


def test_unlike_pins_push_their_region_down_more_with_more_weight(bluemarble):
    enc, grid = bluemarble
    base = search(grid, make_pins(like=[SAHARA]), enc).at([ARABIA, GREENLAND])
    w1 = search(grid, make_pins(like=[SAHARA], unlike=[ARABIA]), enc).at([ARABIA, GREENLAND])
    w3 = search(grid, make_pins(like=[SAHARA], unlike=[ARABIA], unlike_weights=3.0), enc).at([ARABIA, GREENLAND])
    assert w1[0] < base[0] - 0.3 and w3[0] < w1[0] - 0.3
    assert (base[0] - w1[0]) > (base[1] - w1[1])  # Arabia drops more than far-away, unlike-looking Greenland


def test_unit_weights_equal_the_plain_like_unlike_map_and_weights_mix_linearly(bluemarble):
    enc, grid = bluemarble
    plain = similarity_map(grid, [SAHARA, AMAZON], [GREENLAND], encoder=enc)
    pins = search(grid, make_pins(like=[SAHARA, AMAZON], unlike=[GREENLAND]), enc)
    np.testing.assert_allclose(pins.scores, plain.scores, atol=1e-5)
    a = search(grid, make_pins(like=[SAHARA]), enc).scores
    b = search(grid, make_pins(like=[AMAZON]), enc).scores
    mixed = search(grid, make_pins(like=[SAHARA, AMAZON], like_weights=[3.0, 1.0]), enc).scores
    np.testing.assert_allclose(mixed, 0.75 * a + 0.25 * b, atol=1e-5)
    top = pins.top_places(place_index_of(enc), k=5)
    assert len(top) == 5 and top["similarity"].is_monotonic_decreasing


def place_index_of(enc):
    from satclip.explore.places import place_index

    return place_index(enc)


def test_search_needs_a_like_pin(bluemarble):
    enc, grid = bluemarble
    with pytest.raises(PinError, match="at least one 'like' pin"):
        search(grid, make_pins(unlike=[SAHARA]), enc)


pin_rows = st.lists(
    st.tuples(
        st.floats(-180, 180),
        st.floats(-90, 90),
        st.sampled_from(["like", "unlike"]),
        st.floats(1e-3, 1e3),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(pin_rows)
def test_csv_and_geojson_round_trip(rows):
    df = validate_pins(pd.DataFrame(rows, columns=["lon", "lat", "kind", "weight", "label"]))
    for name, text in (("p.csv", pins_to_csv(df)), ("p.geojson", pins_to_geojson(df))):
        back = read_pins(text.encode(), name)
        np.testing.assert_allclose(
            back[["lon", "lat", "weight"]].to_numpy(), df[["lon", "lat", "weight"]].to_numpy(), rtol=1e-12
        )
        assert back["kind"].tolist() == df["kind"].tolist()
        assert back["label"].tolist() == df["label"].tolist()


def test_write_and_read_files(tmp_path):
    df = make_pins(like=[SAHARA, ARABIA], unlike=[AMAZON], like_weights=[2.0, 1.0])
    for suffix in (".csv", ".geojson"):
        p = write_pins(df, tmp_path / f"pins{suffix}")
        pd.testing.assert_frame_equal(read_pins(p), df)
    with pytest.raises(PinError, match=r"unsupported pin file type '\.xlsx'"):
        write_pins(df, tmp_path / "pins.xlsx")
    with pytest.raises(PinError, match="no such pin file"):
        read_pins(tmp_path / "none.csv")


FC = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10, 25]}, "properties": {"kind": "like"}}
    ],
}


def _fc(**change):
    doc = json.loads(json.dumps(FC))
    doc["features"][0].update(change)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("name", "data", "error", "words"),
    [
        ("p.geojson", b"{not json", PinError, "not valid JSON"),
        ("p.geojson", b'{"type": "Topology"}', PinError, "expected a GeoJSON FeatureCollection"),
        (
            "p.geojson",
            _fc(geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}),
            PinError,
            "feature 0 is not a Point",
        ),
        ("p.geojson", _fc(geometry={"type": "Point", "coordinates": ["a", 1]}), PinError, "no numeric [lon, lat]"),
        ("p.geojson", _fc(geometry=None), PinError, "feature 0 is not a Point"),
        (
            "p.geojson",
            _fc(properties={"kind": "like", "weight": -2}),
            PinError,
            "weight must be a positive number at rows [0]",
        ),
        ("p.geojson", _fc(geometry={"type": "Point", "coordinates": [10, 95]}), CoordinateError, "row"),
        ("p.csv", b"lon,lat,kind\n1,2,like\n3,4,maybe\n", PinError, "kind must be 'like' or 'unlike' at rows [1]"),
        ("p.csv", b"lon,lat,weight\n1,2,1\n3,4,nan\n", PinError, "weight must be a positive number at rows [1]"),
        ("p.csv", b"lon,lat\n1,2\n3,-91\n", CoordinateError, "row 1"),
        ("p.csv", b"x,y,z\n1,2,3\n", PinError, "p.csv"),
        ("p.csv", b"", PinError, "not a readable CSV"),
        ("p.csv", b"\xff\xfe\x00garbage\x00", PinError, "not UTF-8"),
        ("p.kml", b"<kml/>", PinError, "unsupported pin file type '.kml'"),
        ("p.csv", ("lon,lat\n" + "1,2\n" * 10_001).encode(), PinError, "at most 10,000"),
        # an extra field per row used to become the index and shift every row: (10, 20) read as (20, 5)
        ("p.csv", b"lon,lat\n10,20,5\n30,40,6\n", PinError, "row 0 has more fields than the header (2 columns)"),
        ("p.csv", b"lon,lat,kind\n1,2,like\n3,4,like,x\n", PinError, "row 1 has more fields than the header"),
        ("p.csv", b"lon,lat,weight\n1,2,-1\n", PinError, "positive number at rows [0] (got -1)"),  # no np.int64(-1)
        # a European-locale export: it said "no longitude column ... columns are ['lon;lat;kind']"
        ("p.csv", b"lon;lat;kind\n1;2;like\n", PinError, "looks separated by ';', but its extension says commas"),
        # a header field over the csv module's 128 KiB limit escaped as _csv.Error
        ("p.csv", b"lon,lat," + b"x" * 200_000 + b"\n1,2,3\n", PinError, "not a readable CSV header"),
    ],
)
def test_hostile_pin_files_get_one_clear_error(name, data, error, words):
    with pytest.raises(error) as info:
        read_pins(data, name)
    assert words in str(info.value) and name in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, (TableError, CoordinateError))
