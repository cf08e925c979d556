"""Every page through ``streamlit.testing.v1.AppTest``, including simulated map clicks and bad input."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP

TIMEOUT = 240  # first run builds the grid and the place index of the tiny model (seconds on a busy machine)


def _app(app_env: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _map_args(at: AppTest, index: int = 0) -> tuple[str, dict]:
    comp = at.get("component_instance")[index].proto
    assert comp.component_name.endswith("st_folium")
    return comp.id, json.loads(comp.json_args)


def _click(at: AppTest, lon: float, lat: float, key: str = "explore_map") -> AppTest:
    """What streamlit-folium's on_change callback stores for a map click."""
    at.session_state[key] = {"last_clicked": {"lat": lat, "lng": lon}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "caption", "subheader", "info", "error", "warning", "success", "title")
        for e in getattr(at, kind)
    )


def test_explore_offline_map_then_click(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    comp_id, args = _map_args(at)
    assert args["js_links"] == ["/app/static/leaflet/leaflet.js"]  # nothing from a CDN
    assert args["css_links"] == ["/app/static/leaflet/leaflet.css"]
    assert "/app/static/bluemarble-mercator-v2-512.jpg" in args["script"]
    assert "imagePath" in args["script"] and "/app/static/leaflet/images/" in args["script"]
    assert "Click the map" in _texts(at)

    _click(at, 2.35, 48.85)
    assert at.session_state["explore_a"] == (2.35, 48.85)
    new_id, args = _map_args(at)
    assert new_id == comp_id  # same component: the map is not remounted, so no click or view is lost
    fg = args["feature_group"]
    assert "L.marker" in fg and "satclip-overlay" in fg and "data:image/png;base64," in fg
    assert "near Paris (France)" in _texts(at)
    subheaders = [s.value for s in at.subheader]
    assert "Most similar places" in subheaders and "Most similar grid cells" in subheaders
    places, cells = at.table[0].value, at.table[1].value
    assert len(places) == 10 and [c.replace("\\", "") for c in places.columns] == [
        "#",
        "place",
        "sim.",
        "km",
    ]  # Markdown-escaped
    assert len(cells) == 10 and places["sim."].astype(float).is_monotonic_decreasing
    assert all(", " in p for p in places["place"])  # "name, country": one column that wraps
    assert at.session_state["explore_ms"] < 5000
    assert any(c.value.startswith("Page updated in") for c in at.caption)

    # the same click reported again (a redraw) changes nothing; a new one moves A
    _click(at, 2.35, 48.85)
    assert at.session_state["explore_a"] == (2.35, 48.85)
    _click(at, -58.38 + 360, -34.6)  # Leaflet longitudes beyond 180 after panning are wrapped
    assert at.session_state["explore_a"] == (-58.38, -34.6)
    at.toggle(key="explore_compare").set_value(True).run()  # turning compare on: the next click is B
    _click(at, 18.42, -33.92)
    assert at.session_state["explore_a"] == (-58.38, -34.6) and at.session_state["explore_b"] == (18.42, -33.92)


def test_explore_compare_two_places_and_controls(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.toggle(key="explore_compare").set_value(True).run()
    _click(at, 2.35, 48.85)
    _click(at, 36.82, -1.29)
    assert at.session_state["explore_a"] == (2.35, 48.85)
    assert at.session_state["explore_b"] == (36.82, -1.29)
    _click(at, 100.5, 13.75)  # clicks alternate: A, B, A, B
    assert at.session_state["explore_a"] == (100.5, 13.75) and at.session_state["explore_b"] == (36.82, -1.29)
    _click(at, 36.82, -1.29)
    _click(at, 36.82, -1.29)  # a repeated report of the same click is not a new click
    assert at.session_state["explore_b"] == (36.82, -1.29) and at.session_state["explore_a"] == (100.5, 13.75)
    assert at.metric[0].label == "Cosine similarity A-B"
    assert -1.0 <= float(at.metric[0].value) <= 1.0
    at.radio(key="explore_target").set_value("like A, unlike B").run()
    assert not at.exception
    assert "similarity to like minus unlike" in at.markdown[0].value  # the legend of the diverging map
    at.selectbox(key="explore_cmap").set_value("viridis").run()
    at.radio(key="explore_scale").set_value("full [-1, 1]").run()
    at.slider(key="explore_k").set_value(5).run()
    assert not at.exception
    assert len(at.table[0].value) == 5
    assert "-1.000" in at.markdown[0].value and "1.000" in at.markdown[0].value


def test_explore_bad_typed_coordinates_keep_what_is_shown(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    _click(at, 13.40, 52.52)
    before = at.table[0].value.copy()
    at.text_input(key="explore_text").set_value("12, 95")  # latitude out of range
    at.button[0].click().run()
    assert not at.exception
    assert any("latitude outside [-90, 90]" in e.value for e in at.error)
    assert at.session_state["explore_a"] == (13.40, 52.52)
    pd.testing.assert_frame_equal(at.table[0].value, before)
    at.text_input(key="explore_text").set_value("not a place")
    at.button[0].click().run()
    assert any("expected" in e.value for e in at.error)
    at.text_input(key="explore_text").set_value("-74.0, 40.7")
    at.button[0].click().run()
    assert at.session_state["explore_a"] == (-74.0, 40.7)


def test_bad_model_file_keeps_previous_model(app_env: dict[str, str], tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SATCLIP_APP_MODEL_DIRS", str(tmp_path))  # a folder the operator allows
    at = _app(app_env)
    _click(at, 2.35, 48.85)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"this is not a model")
    at.selectbox(key="model_choice").set_value("Local model file ...").run()
    at.text_input(key="model_path").set_value(str(bad)).run()
    assert not at.exception
    assert any("Cannot load model" in e.value for e in at.sidebar.error)
    assert at.session_state["explore_a"] == (2.35, 48.85)
    assert len(at.table) >= 2  # the explore results are still shown with the previous model
    assert any("Still using the previous model" in c.value for c in at.sidebar.caption)


def test_projection_page_pca(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.switch_page("pages/projection.py").run()
    assert not at.exception, [e.value for e in at.exception]
    _, args = _map_args(at)
    assert "satclip-overlay" in args["feature_group"]
    assert at.get("plotly_chart"), "the scatter is shown"
    hover = [row[0] for row in json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["customdata"]]
    far = [h for h in hover if not h.startswith("near ")]  # polar cells: not 'Longyearbyen' 1,200 km away
    assert far and all(re.fullmatch(r"no named place within 300 km \(nearest: .+, [\d,]+ km\)", h) for h in far)
    assert any(h.startswith("near ") for h in hover)
    assert any("Explained variance" in c.value for c in at.caption)  # UMAP: tests/app/test_projection_job.py


def test_downstream_builtin_task_with_baselines(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.switch_page("pages/downstream.py").run()
    assert at.selectbox(key="ds_task").value == "land_or_water"  # the default shows the embedding's value
    at.selectbox(key="ds_task").set_value("city_population")
    at.select_slider(key="ds_n").set_value(500)
    at.selectbox(key="ds_split").set_value("block")
    at.run()
    at.button(key="ds_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = at.dataframe[0].value
    assert list(metrics["encoder"]) == [
        "tiny-test",
        "mean / majority",
        "lon/lat",
        "spherical harmonics L=10 (untrained)",
    ]
    assert {"R2", "RMSE", "MAE"} <= set(metrics.columns) and (metrics["folds"] == 5).all()
    assert abs(metrics.loc[metrics["encoder"] == "mean / majority", "R2"].iloc[0]) < 0.2
    assert len([e for e in at.main if type(e).__name__ == "Image"]) >= 2  # prediction and residual maps
    assert at.get("plotly_chart"), "predicted vs true"
    assert at.get("download_button")


def test_downstream_uploaded_csv_and_bad_csv(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.switch_page("pages/downstream.py").run()
    at.radio(key="ds_source").set_value("Upload a CSV/Parquet").run()
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-60, 70, n)})
    df["temp"] = 30 - 0.5 * np.abs(df["lat"]) + rng.normal(0, 1, n)
    df["continent"] = np.where(df["lon"] < -30, "Americas", np.where(df["lon"] < 60, "Africa", "Asia"))
    at.file_uploader(key="ds_upload").set_value(("temps.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    at.selectbox(key="ds_target").set_value("temp")
    at.selectbox(key="ds_probe").set_value("ridge")
    at.selectbox(key="ds_split").set_value("continent")
    at.run()
    at.button(key="ds_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = at.dataframe[0].value
    best_baseline = metrics.set_index("encoder").loc["lon/lat", "R2"]
    assert np.isfinite(best_baseline)
    shown = len(metrics)

    bad = df.copy()
    bad.loc[7, "lat"] = 123.0
    at.file_uploader(key="ds_upload").set_value(("bad.csv", bad.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Cannot use this data: bad.csv: latitude outside [-90, 90] at row 7; coordinates are (lon, lat): were lon "
        "and lat swapped?; row 7 is line 9 of the file (rows are counted from 0 after the header)"
    ]
    assert shown and not at.dataframe and not at.get("download_button")  # an error clears the results it replaced
    at.file_uploader(key="ds_upload").set_value(("junk.csv", b"\x00\x01\x02garbage", "text/csv")).run()
    assert not at.exception
    assert at.error, "a corrupt file gives a message"


def test_downstream_classes_confusion_axes_and_a_split_the_points_cannot_make(app_env: dict[str, str]) -> None:
    """The confusion matrix did not say which axis is the prediction; a spatial-block split of points in one
    block advised 'use smaller blocks', which nothing on the page can do."""
    at = _app(app_env)
    at.switch_page("pages/downstream.py").run()
    at.radio(key="ds_source").set_value("Upload a CSV/Parquet").run()
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-60, 70, n)})
    df["half"] = np.where(df["lat"] > 0, "north", "south")
    at.file_uploader(key="ds_upload").set_value(("h.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    at.selectbox(key="ds_split").set_value("random").run()
    at.button(key="ds_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("rows: true class, columns: predicted class" in m.value for m in at.markdown), [
        m.value for m in at.markdown
    ]
    one_block = pd.DataFrame({"lon": [1.0, 1.5, 2.0, 2.5], "lat": [2.0, 2.5, 3.0, 3.5], "y": [1.0, 2.0, 3.0, 4.0]})
    at.file_uploader(key="ds_upload").set_value(("b.csv", one_block.to_csv(index=False).encode(), "text/csv"))
    at.selectbox(key="ds_split").set_value("block").run()
    warned = [w.value for w in at.warning]
    assert any("cannot be made from these points" in w and "choose another split" in w for w in warned), warned
    assert not any("smaller blocks" in w for w in warned), warned
    # a constant target in points the split cannot divide: both are said (the target warning was hidden)
    constant = one_block.assign(y=5.0)
    at.file_uploader(key="ds_upload").set_value(("c.csv", constant.to_csv(index=False).encode(), "text/csv")).run()
    warned = [w.value for w in at.warning]
    assert any("is constant" in w for w in warned) and any("cannot be made" in w for w in warned), warned


def test_downstream_warns_on_degenerate_targets_before_running(app_env: dict[str, str]) -> None:
    """Issue 12 defect 8: a constant target showed R2 "None", an ID column accuracy 0 and a 500-column matrix."""
    at = _app(app_env)
    at.switch_page("pages/downstream.py").run()
    at.radio(key="ds_source").set_value("Upload a CSV/Parquet").run()
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {
            "lon": rng.uniform(-180, 180, n),
            "lat": rng.uniform(-60, 70, n),
            "const": 1.5,
            "site": [f"site-{i}" for i in range(n)],
            "temp": rng.normal(size=n),
        }
    )
    at.file_uploader(key="ds_upload").set_value(("t.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    at.selectbox(key="ds_target").set_value("const").run()
    assert any("constant" in w.value for w in at.warning)
    assert at.button(key="ds_run").disabled and not at.dataframe  # nothing ran
    at.selectbox(key="ds_target").set_value("site").run()
    assert any("500 classes for 500 rows" in w.value for w in at.warning)
    assert at.button(key="ds_run").disabled
    at.checkbox(key="ds_anyway").check().run()
    assert not at.button(key="ds_run").disabled
    at.selectbox(key="ds_probe").set_value("knn").run()
    at.button(key="ds_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("too many for a readable confusion matrix" in i.value for i in at.info)
    assert len(at.dataframe) == 1  # the metrics only, no 500-column matrix
    at.selectbox(key="ds_target").set_value("temp").run()
    assert not at.warning and not at.button(key="ds_run").disabled


def test_embed_page_upload_and_errors(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.switch_page("pages/embed.py").run()
    assert "5,000 rows" in _texts(at) and "MB per file" in _texts(at)
    pts = pd.DataFrame({"id": [1, 2, 3], "longitude": [2.35, -74.0, 151.2], "latitude": [48.85, 40.7, -33.9]})
    buf = io.BytesIO()
    pts.to_parquet(buf, index=False)
    at.file_uploader(key="embed_upload").set_value(("pts.parquet", buf.getvalue(), "application/octet-stream"))
    at.radio(key="embed_format").set_value("csv")
    at.run()
    at.button(key="embed_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Embedded 3 rows" in s.value for s in at.success)
    out = pd.read_csv(io.BytesIO(at.session_state["embed_result"]["data"]))
    assert list(out.columns[:3]) == ["id", "longitude", "latitude"] and out.shape == (3, 3 + 256)

    at.file_uploader(key="embed_upload").set_value(("nolat.csv", b"x,y\n1,2\n", "text/csv")).run()
    at.button(key="embed_go").click().run()
    assert any("no latitude column" in e.value or "no longitude column" in e.value for e in at.error)
    # the error replaces the previous run's result: no stale "Embedded 3 rows" or download button under it
    assert not at.success and not at.get("download_button") and not at.session_state["embed_result"]
    bad = b"id,lon,lat\n1,2.35,48.85\n\n2,-74.0,\n3,151.2,-33.9\n"  # an empty latitude, after a blank line
    at.file_uploader(key="embed_upload").set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="embed_go").click().run()
    assert [e.value for e in at.error] == [
        "Cannot embed: bad.csv: missing or non-finite coordinates (empty, NaN or inf) at row 1; row 1 is line 4 "
        "of the file (rows are counted from 0 after the header)"
    ]  # was named after the temporary copy the page embeds from
    big = "lon,lat\n" + "0,0\n" * 5001
    at.file_uploader(key="embed_upload").set_value(("big.csv", big.encode(), "text/csv")).run()
    at.button(key="embed_go").click().run()
    assert any("limit" in e.value for e in at.error)
    errors = [e.value for e in at.error]
    assert errors and all(e.count("big.csv") == 1 for e in errors), errors  # was "Cannot embed big.csv: big.csv ..."
    assert any(e.startswith("Cannot embed: big.csv has more than") for e in errors), errors


def test_model_page(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.switch_page("pages/model.py").run()
    assert not at.exception
    assert at.header[0].value == "tiny-test"
    assert at.metric[0].value == "10" and at.metric[1].value == "256"
    metrics = at.dataframe[0].value
    assert "test / r2" in list(metrics["metric"])
    shown = dict(zip(metrics["metric"], metrics["value"], strict=True))
    assert shown["test / r2"] == "0.302" and shown["test / n"] == "1200"  # rounded, counts kept whole
    texts = _texts(at)
    assert "DeltaGenerator" not in texts and "st.json(" not in texts
    assert "random init" in _texts(at) or at.json


def test_model_page_text_metrics_are_read_in_full(app_env: dict[str, str], tmp_path, monkeypatch) -> None:
    """A card's text entries (a note of several sentences, a task description) sat in the metrics table's value
    column, cut off after 40 characters at any window size; they are written out below the table."""
    import torch

    from satclip.checkpoints import save_model
    from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

    note = "Retrieval: validation points against a gallery of the same points; " * 3
    torch.manual_seed(1)
    metrics = {"r2": 0.5, "note": note, "transfer": {"task": "land cover, 10 points", "acc": 0.25}}
    card = {"name": "noted", "metrics": metrics}
    path = save_model(tmp_path / "noted.safetensors", LocationEncoder(LocationEncoderConfig(L=10)), card)
    monkeypatch.setenv("SATCLIP_APP_MODEL", str(path))
    at = _app(app_env)
    at.switch_page("pages/model.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table["metric"]) == ["r2", "transfer / acc"] and list(table["value"]) == ["0.500", "0.250"]
    captions = [c.value for c in at.caption]
    assert any(note.strip() in c and c.startswith("**note**") for c in captions), captions
    assert any(c == "**transfer / task**: land cover, 10 points" for c in captions), captions


def test_model_page_says_what_the_bundled_model_was_trained_on(app_env: dict[str, str], monkeypatch) -> None:
    """'Training data' showed the raw training record (batch size, lr, strategy, ...) without a word on the data."""
    import satclip

    monkeypatch.setenv("SATCLIP_APP_MODEL", "satclip-bluemarble-l10")
    at = _app(app_env)
    at.switch_page("pages/model.py").run()
    assert not at.exception, [e.value for e in at.exception]
    training = satclip.load("satclip-bluemarble-l10").card["training"]
    text = "\n".join(m.value for m in at.markdown)
    assert "**Imagery:** NASA Blue Marble Next Generation (bmng.jpg)" in text
    counts = training["data"]["counts"]
    assert f"{counts['land']:,} land, {counts['coast']:,} coast, {counts['ocean']:,} ocean" in text
    assert f"{training['epochs']} epochs, {training['n_samples']:,} training samples" in text
    assert at.expander[0].label.startswith("All training settings")  # the raw record, one click away


def test_missing_default_model_then_uploaded_model(app_env: dict[str, str], monkeypatch) -> None:
    monkeypatch.setenv("SATCLIP_APP_MODEL", str(Path(app_env["tmp"]) / "does-not-exist.safetensors"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Cannot load model" in e.value and "does-not-exist" in e.value for e in at.sidebar.error)
    assert any("Load a model" in i.value for i in at.info)
    at.selectbox(key="model_choice").set_value("Upload a model file ...").run()
    data = Path(app_env["SATCLIP_APP_MODEL"]).read_bytes()
    at.sidebar.file_uploader[0].set_value(("mine.safetensors", data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.sidebar.error
    _click(at, 2.35, 48.85)
    assert len(at.table[0].value) == 10
    at.sidebar.file_uploader[0].set_value(("broken.safetensors", b"\x00" * 64, "application/octet-stream")).run()
    assert not at.exception
    assert any("Cannot load model" in e.value for e in at.sidebar.error)
    assert len(at.table[0].value) == 10  # still shown, with the previous (uploaded) model


def test_widget_values_survive_other_pages(app_env: dict[str, str]) -> None:
    """Explore -> Model -> Explore reset 'Land only' and k (Streamlit forgets widgets a run does not draw)."""
    at = _app(app_env)
    _click(at, 2.35, 48.85)
    at.toggle(key="explore_land").set_value(True)
    at.slider(key="explore_k").set_value(7)
    at.selectbox(key="explore_cmap").set_value("viridis")
    at.run()
    for page in ("pages/model.py", "pages/embed.py", "pages/model.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/explore.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="explore_land").value is True
    assert at.slider(key="explore_k").value == 7 and len(at.table[0].value) == 7
    assert at.selectbox(key="explore_cmap").value == "viridis"
    assert at.session_state["explore_a"] == (2.35, 48.85)
    at.slider(key="explore_k").set_value(4).run()  # the widget still follows the user after the round trip
    assert at.slider(key="explore_k").value == 4 and len(at.table[0].value) == 4


def test_typed_lat_lon_is_asked_not_guessed(app_env: dict[str, str]) -> None:
    at = _app(app_env)
    at.text_input(key="explore_text").set_value("48.8566, 2.3522")
    at.button[0].click().run()  # the form's Show button
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["explore_a"] is None  # nothing placed in the sea off Somalia
    assert any("lat, lon" in w.value for w in at.warning)
    at.button(key="explore_ask_swapped").click().run()
    assert at.session_state["explore_a"] == (2.3522, 48.8566)
    # the answered question goes away at once (it stayed, with both buttons, until the next interaction)
    assert not any("look like" in w.value for w in at.warning)
    assert not {"explore_ask_swapped", "explore_ask_typed"} & {b.key for b in at.button}
    at.radio(key="explore_order").set_value("lat, lon")
    at.text_input(key="explore_text").set_value("-33.92, 18.42")
    at.button[0].click().run()
    assert at.session_state["explore_a"] == (18.42, -33.92) and not at.warning


def test_local_model_path_outside_allowed_folders_is_refused_alike(app_env: dict[str, str], tmp_path) -> None:
    """From the network the 'Local model file' box opened any server path and said whether a file existed
    (issue 13, item 7): outside the allowed folders every path gets the same refusal, existing or not."""
    at = _app(app_env)
    at.selectbox(key="model_choice").set_value("Local model file ...").run()
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(b"\x00" * 64)
    messages = []
    for path in [
        "/etc/passwd",
        "/etc/no-such-file",
        str(secret),
        str(tmp_path / "absent.safetensors"),
        str(Path(app_env["SATCLIP_APP_MODEL"]).parent / ".." / ".." / "etc" / "passwd"),
    ]:
        at.text_input(key="model_path").set_value(path).run()
        assert not at.exception, [e.value for e in at.exception]
        errors = [e.value for e in at.sidebar.error]
        assert len(errors) == 1 and "allowed" in errors[0], errors
        messages.append(errors[0].replace(path, "PATH"))
    assert len(set(messages)) == 1, messages  # nothing tells an existing file from a missing one
    assert "secret" not in messages[0] and "No such file" not in messages[0]
    # the folder of the configured model is allowed: the same model by path loads
    at.text_input(key="model_path").set_value(app_env["SATCLIP_APP_MODEL"]).run()
    assert not at.sidebar.error


@pytest.mark.parametrize(
    ("page", "widget", "key", "value"),
    [
        ("pages/downstream.py", "selectbox", "ds_probe", "knn"),
        ("pages/projection.py", "slider", "proj_opacity", 0.4),
        ("pages/search.py", "slider", "search_k", 5),
        ("pages/label.py", "slider", "label_opacity", 0.3),
    ],
)
def test_every_page_keeps_its_widget_values(
    app_env: dict[str, str], page: str, widget: str, key: str, value: object
) -> None:
    """Defect 3 on the pages beyond Explore: a value set on a page is still there after a visit elsewhere."""
    at = _app(app_env)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    getattr(at, widget)(key=key).set_value(value).run()
    at.switch_page("pages/model.py").run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert getattr(at, widget)(key=key).value == value
