"""The app's helpers without a Streamlit runtime: launcher, offline assets, input parsing
(the quick probes are tested in tests/downstream/test_quick.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from satclip.cli import launch_app as cli_app
from tests.app.conftest import APP


# ---------------------------------------------------------------------------------------------- launcher
def test_streamlit_command_has_offline_flags() -> None:
    cmd = cli_app.streamlit_command(APP, host="127.0.0.1", port=8765, max_upload_mb=20, headless=True)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(APP)
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.enableStaticServing"] == "true"
    assert flags["--server.maxUploadSize"] == "20" and flags["--server.port"] == "8765"
    assert flags["--browser.gatherUsageStats"] == "false" and flags["--server.headless"] == "true"


def test_app_environment_and_script(tmp_path: Path) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x")
    env = cli_app.app_environment(str(model), 2.0, 1000)
    assert env["SATCLIP_APP_MODEL"] == str(model.resolve())
    assert env["SATCLIP_APP_RESOLUTION"] == "2.0" and env["SATCLIP_APP_MAX_ROWS"] == "1000"
    named = cli_app.app_environment("satclip-bluemarble-l40", None, None)
    assert named["SATCLIP_APP_MODEL"] == "satclip-bluemarble-l40"
    assert cli_app.find_app_script() == APP


def test_cli_register_help_and_missing_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = typer.Typer()
    cli_app.register(app)

    @app.callback()
    def _root() -> None:
        """root"""

    runner = CliRunner()
    res = runner.invoke(app, ["app", "--help"])
    assert res.exit_code == 0 and "--model" in res.output and "--resolution" in res.output
    monkeypatch.setattr(cli_app, "find_app_script", lambda: (_ for _ in ()).throw(FileNotFoundError("no app here")))
    res = runner.invoke(app, ["app", "--no-browser"])
    assert res.exit_code == 1 and "no app here" in res.output


# ---------------------------------------------------------------------------------------------- assets
def test_leaflet_is_copied_from_xstatic(tmp_path: Path) -> None:
    from appkit import web_assets as assets

    dst = assets.install_leaflet(tmp_path)
    assert (dst / "leaflet.js").read_bytes().startswith(b"/* @preserve")
    assert (dst / "leaflet.css").is_file() and (dst / "images" / "marker-icon.png").is_file()
    assert "1.9.3" in (dst / "leaflet.js").read_text()[:200]
    js, _css, icons = assets.leaflet_urls()
    assert js == "/app/static/leaflet/leaflet.js" and icons.endswith("/images/")


def test_bluemarble_mercator_base_map(app_env: dict[str, str], tmp_path: Path) -> None:
    from appkit import web_assets as assets
    from PIL import Image

    path = assets.bluemarble_mercator(256)
    with Image.open(path) as im:
        assert im.size == (256, 256) and im.format == "JPEG"
        arr = np.asarray(im)
    assert arr.mean() > 10  # not blank
    url = assets.install_basemap(256, tmp_path)
    assert url == "/app/static/bluemarble-mercator-v2-256.jpg" and (tmp_path / path.name).is_file()


def test_clicked_lonlat() -> None:
    from appkit.maps import clicked_lonlat

    assert clicked_lonlat(None) is None and clicked_lonlat({"last_clicked": None}) is None
    assert clicked_lonlat({"last_clicked": {"lat": 10.0, "lng": 190.0}}) == (-170.0, 10.0)
    assert clicked_lonlat({"last_clicked": {"lat": -5.5, "lng": -30.25}}) == (-30.25, -5.5)


def test_compare_pins_carry_their_letter_on_the_map() -> None:
    """In compare mode A and B were the same blue pin, told apart only on hover."""
    import folium
    from appkit.maps import add_query_marker

    m = folium.Map()
    fg = folium.FeatureGroup().add_to(m)
    add_query_marker(fg, 2.35, 48.86, "A", labelled=True)
    add_query_marker(fg, 13.4, 52.52, "B", labelled=True)
    add_query_marker(fg, -74.0, 40.7, "C")
    html = m.get_root().render()
    assert html.count('"permanent": true') == 2
    assert "<b>A</b>" in html and "<b>B</b>" in html and "C: 40.700, -74.000" in html


# ---------------------------------------------------------------------------------------------- input
def test_parse_lonlat() -> None:
    from appkit.state import fmt_lonlat, parse_lonlat

    assert parse_lonlat(" 2.35, 48.86 ") == (2.35, 48.86)
    assert parse_lonlat("-58.4 -34.6") == (-58.4, -34.6)
    for bad, msg in [("1", "two numbers"), ("a, b", "two numbers"), ("0, 91", "latitude"), ("181, 0", "longitude")]:
        with pytest.raises(ValueError, match=msg):
            parse_lonlat(bad)
    assert fmt_lonlat(-58.4, -34.6) == "34.600° S, 58.400° W"
    # one typed pair: no 'row 0', no library/CLI advice ('pass wrap=True (CLI: --wrap)'), and the order the
    # user chose (typed as 'lat, lon', '200, 45' was called a latitude error 'coordinates are (lon, lat)')
    for text, lat_first, words in [
        ("200, 45", False, "longitude outside [-180, 180] (typed 200)"),
        ("12, 95", False, "latitude outside [-90, 90] (typed 95)"),
        ("200, 45", True, "latitude outside [-90, 90] (typed 200)"),
        ("nan, 1", False, "not a finite number"),
        ("1e400, 1", True, "not a finite number"),
    ]:
        with pytest.raises(ValueError) as info:
            parse_lonlat(text, lat_first=lat_first)
        msg = str(info.value)
        assert words in msg and "row" not in msg and "wrap" not in msg and "(lon, lat)" not in msg, msg


class _Upload:
    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_read_table_limits_and_corrupt_files() -> None:
    from appkit.state import InputError, read_table

    df = read_table(_Upload("a.csv", b"lon,lat\n1,2\n3,4\n"), 10)
    assert df.shape == (2, 2)
    buf = io.BytesIO()
    pd.DataFrame({"lon": np.zeros(20), "lat": np.zeros(20)}).to_parquet(buf)
    with pytest.raises(InputError, match="20 rows; the limit is 10"):
        read_table(_Upload("a.parquet", buf.getvalue()), 10)
    with pytest.raises(InputError, match="more than 10 rows"):
        read_table(_Upload("a.csv", b"lon,lat\n" + b"0,0\n" * 11), 10)
    with pytest.raises(InputError, match=r"cannot read a\.parquet"):
        read_table(_Upload("a.parquet", b"PAR1 not really"), 10)
    with pytest.raises(InputError, match="empty"):
        read_table(_Upload("a.csv", b""), 10)


def test_read_table_refuses_rows_longer_than_the_header() -> None:
    """pandas made the extra leading field of such rows the index and shifted every column: the Embed page
    embedded (lon=20, lat=5) for the row '10,20,5' and wrote it out without a word."""
    from appkit.state import InputError, read_table

    for name, data, row, line in [
        ("a.csv", b"lon,lat\n10,20,5\n30,40,6\n", 0, 2),
        ("b.csv", b"id;lon;lat\n1;10;20\n2;30;40;x\n", 1, 3),  # the separator is still sniffed
        ("c.tsv", b"lon\tlat\n10\t20\n\n30\t40\t6\n", 1, 4),
    ]:
        said = rf"^{name}: row {row} has more fields than the header \(\d columns\); row {row} is line {line} of"
        with pytest.raises(InputError, match=said):
            read_table(_Upload(name, data), 10)
    ok = read_table(_Upload("d.csv", b"lon,lat,v\n10,20,1\n30,40,\n"), 10)  # an empty last field is a value
    assert ok["lon"].tolist() == [10, 30] and ok["lat"].tolist() == [20, 40]
    with pytest.raises(InputError, match=r"e\.csv: duplicate column 'lat'"):  # pandas renamed it 'lat.1'
        read_table(_Upload("e.csv", b"lon,lat,lat\n1,2,3\n"), 10)
    # Excel's "CSV UTF-8" starts with a byte order mark, which became part of the first name ('\ufefflon')
    assert list(read_table(_Upload("f.csv", b"\xef\xbb\xbflon;lat\n1;2\n"), 10).columns) == ["lon", "lat"]
    assert list(read_table(_Upload("g.csv", b"lon\n1\n"), 10).columns) == ["lon"]  # not split at 'o' into l, n
    with pytest.raises(InputError, match=r"^h\.csv is not UTF-8 text \(byte 20\)"):  # Excel's 'CSV' on Windows
        read_table(_Upload("h.csv", "lon,lat,name\n1,2,Orl\xe9ans\n".encode("cp1252")), 10)
    # a WKT geometry or notes column: a field over 128 KiB was refused ('field larger than field limit (131072)')
    wide = read_table(_Upload("i.csv", b"lon,lat,wkt\n1,2," + b"x" * 300_000 + b"\n3,4,y\n"), 10)
    assert wide.shape == (2, 3) and len(wide["wkt"].iloc[0]) == 300_000


def test_lat_lon_order_and_swap_detection() -> None:
    """'48.8566, 2.3522' (lat, lon as map sites copy it) must not land silently off Somalia."""
    from appkit.state import likely_swapped, parse_lonlat

    from satclip.explore.places import nearest_places

    assert parse_lonlat("48.8566, 2.3522", lat_first=True) == (2.3522, 48.8566)
    with pytest.raises(ValueError, match="latitude"):
        parse_lonlat("120, 10", lat_first=True)

    def nearest_km(pts: np.ndarray) -> np.ndarray:
        return nearest_places(pts)["distance_km"].to_numpy()

    assert likely_swapped(parse_lonlat("48.8566, 2.3522"), nearest_km) == (2.3522, 48.8566)
    assert likely_swapped(parse_lonlat("2.3522, 48.8566"), nearest_km) is None  # already Paris
    assert likely_swapped(parse_lonlat("-74.006, 40.7128"), nearest_km) is None  # New York, lon first
    assert likely_swapped(parse_lonlat("151.2, -33.87"), nearest_km) is None  # |lon| > 90: no other reading
    assert likely_swapped(parse_lonlat("-30, -40"), nearest_km) is None  # open sea either way


def _mercator_row(lat: float, height: int) -> int:
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return int((1 - y / np.pi) / 2 * height)


def test_base_map_has_no_black_rectangle_in_the_weddell_sea(app_env: dict[str, str]) -> None:
    """The Blue Marble's sea-floor shading stops at 60 S over the Weddell Sea: a flat near-black block with a
    straight northern edge, blown up by Mercator. The base map fades the Southern Ocean instead."""
    from appkit import web_assets as assets
    from PIL import Image

    with Image.open(assets.bluemarble_mercator(1024)) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    cols = slice(int((180 - 55) / 360 * 1024), int((180 - 25) / 360 * 1024))  # 55 W .. 25 W, open sea at 60 S
    brightness = [arr[_mercator_row(lat, 1024), cols].mean() for lat in np.arange(-56.0, -64.1, -0.5)]
    steps = np.abs(np.diff(brightness))
    assert steps.max() < 4, f"a sharp edge in the Weddell Sea: row-to-row brightness steps {steps.round(1)}"
    assert min(brightness) > 20, f"the Southern Ocean is black: {np.round(brightness, 1)}"


def test_read_table_refuses_a_parquet_decompression_bomb(tmp_path: Path) -> None:
    import time

    from appkit.state import InputError, read_table

    from tests.test_tables import _parquet_bomb

    _parquet_bomb(tmp_path / "bomb.parquet")
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="decompressed"):
        read_table(_Upload("bomb.parquet", (tmp_path / "bomb.parquet").read_bytes()), 200_000)
    assert time.perf_counter() - t0 < 5


# ---------------------------------------------------------------------------------------------- result tables
def test_result_table_text_wraps_and_shows_markdown_characters_as_typed() -> None:
    from appkit.tables import formatted

    cells = pd.DataFrame(
        {
            "rank": [1, 2],
            "similarity": [0.81234, float("nan")],
            "lat": [53.0, -21.0],
            "lon": [7.0, -53.0],
            "near": ["Stadskanaal", None],
            "country": ["The Netherlands", None],
        }
    )
    out = formatted(cells, ["rank", "similarity", "lat", "place"])
    assert list(out.columns) == ["\\#", "sim.", "lat", "place"]  # a bare '#' is an empty Markdown heading
    assert out.iloc[0].tolist() == ["1", "0.812", "53.0", "Stadskanaal, The Netherlands"]
    assert out.iloc[1].tolist() == ["2", "", "-21.0", "(none near)"]  # far from any named place: said so
    places = pd.DataFrame({"name": ["*Star* [x]"], "country": ["A_B"], "distance_km": [12345.4]})
    shown = formatted(places, ["place", "distance_km"])
    assert shown.iloc[0].tolist() == ["\\*Star\\* \\[x\\], A\\_B", "12,345"]


def test_projection_selection_table_leads_with_the_numbers() -> None:
    """It showed one 'near' phrase first ('no named place within 300 km (nearest: Longyearbyen, 1,27...'), which
    filled the narrow column and pushed lat/lon out of view."""
    from appkit.tables import selection_table

    picked = pd.DataFrame(
        {
            "lat": [89.0, 48.86],
            "lon": [83.0, 2.35],
            "place": ["Longyearbyen", "Paris"],
            "country": ["Svalbard and Jan Mayen", "France"],
            "place_km": [1271.4, 0.6],
            "near": ["no named place within 300 km (nearest: Longyearbyen, 1,271 km)", "near Paris (France)"],
        }
    )
    shown = selection_table(picked)
    assert list(shown.columns) == ["lat", "lon", "km", "nearest place"]
    assert shown.to_dict("records")[0] == {
        "lat": 89.0,
        "lon": 83.0,
        "km": 1271,
        "nearest place": "Longyearbyen, Svalbard and Jan Mayen",
    }
