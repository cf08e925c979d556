"""Folium maps that work offline: Leaflet from the app's static folder, the Blue Marble as the base layer,
online tiles only as optional extra layers. Dynamic content goes in feature groups so that redrawing does
not remount the map component (no lost clicks, the view is kept)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import folium
from branca.element import MacroElement
from jinja2 import Template

from appkit.web_assets import leaflet_urls
from satclip.explore import LEAFLET_BOUNDS, MapImage


class OfflineMap(folium.Map):
    """A folium Map whose only JS/CSS dependency is the locally served Leaflet."""

    default_js: ClassVar[list[tuple[str, str]]] = [("leaflet", leaflet_urls()[0])]
    default_css: ClassVar[list[tuple[str, str]]] = [("leaflet_css", leaflet_urls()[1])]


class _IconPath(MacroElement):
    """Sets Leaflet's default marker icon folder to the locally served images."""

    _template = Template(
        "{% macro script(this, kwargs) %}L.Icon.Default.prototype.options.imagePath = {{ this.path|tojson }};"
        "{% endmacro %}"
    )

    def __init__(self, path: str):
        super().__init__()
        self._name = "IconPath"
        self.path = path


class _FocusWithoutScrolling(MacroElement):
    """Leaflet focuses the map on mousedown (keyboard panning) with ``container.focus()``, which scrolls the
    Streamlit page to bring the whole map iframe into view when its lower edge is below the fold: the page moved
    between mousedown and mouseup and the click was read tens of pixels (up to 17 deg) from where it was pressed.
    This focuses with ``preventScroll`` instead; keyboard panning still works."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (map) { var kb = map.keyboard; kb.disable();"
        " L.Map.Keyboard.prototype._onMouseDown = function () {"
        " if (!this._focused) { this._map._container.focus({preventScroll: true}); } };"
        " kb.enable(); })({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FocusWithoutScrolling"


WORLD = [[-85.0, -180.0], [85.0, 180.0]]  # what the map shows first: the whole world


def base_map(base_url: str, *, online_layers: bool = False, height_px: int = 520) -> folium.Map:
    """World map with the Blue Marble image overlay as its base, fitted to the whole world; ``online_layers``
    adds OpenStreetMap (shown) and Esri imagery (hidden) with a layer control to switch them."""
    m = OfflineMap(
        location=(20.0, 0.0),
        zoom_start=1,
        min_zoom=1,
        max_zoom=9,
        tiles=None,
        zoom_snap=0.25,
        world_copy_jump=False,
        max_bounds=True,
        control_scale=True,
        height=height_px,
    )
    m.fit_bounds(WORLD)
    _IconPath(leaflet_urls()[2]).add_to(m)
    _FocusWithoutScrolling().add_to(m)
    if base_url:
        base = folium.raster_layers.ImageOverlay(
            "data:,",
            bounds=[list(b) for b in LEAFLET_BOUNDS],
            mercator_project=False,
            name="Blue Marble (offline)",
            zindex=0,
            interactive=False,
            class_name="satclip-basemap",
        )
        base.url = base_url  # a server path: folium would try to read it as a local file
        base.add_to(m)
    if online_layers:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", overlay=True, show=True).add_to(m)
        folium.TileLayer("Esri.WorldImagery", name="Esri imagery (online)", overlay=True, show=False).add_to(m)
        folium.LayerControl(collapsed=False).add_to(m)
    return m


def overlay_group(image: MapImage | None, opacity: float, name: str = "overlay") -> folium.FeatureGroup:
    """A feature group holding a Web Mercator image overlay (already projected: no reprojection in JS)."""
    fg = folium.FeatureGroup(name=name)
    if image is not None:
        folium.raster_layers.ImageOverlay(
            image.data_url(),
            bounds=[list(b) for b in image.bounds],
            mercator_project=False,
            opacity=float(opacity),
            interactive=False,
            class_name="satclip-overlay",
        ).add_to(fg)
    return fg


def add_points(
    fg: folium.FeatureGroup, rows: Iterable[dict[str, Any]], color: str, radius: float = 6, fill_opacity: float = 0.9
) -> None:
    """Circle markers for rows with lon, lat and a tooltip text."""
    for r in rows:
        folium.CircleMarker(
            (float(r["lat"]), float(r["lon"])),
            radius=radius,
            color="#111",
            weight=1,
            fill=True,
            fill_color=r.get("color", color),
            fill_opacity=fill_opacity,
            tooltip=str(r.get("tooltip", "")),
        ).add_to(fg)


def add_query_marker(fg: folium.FeatureGroup, lon: float, lat: float, label: str, *, labelled: bool = False) -> None:
    """The clicked place: a Leaflet default marker (icon served locally). ``labelled``: its label stays on
    screen beside it (compare mode: the A and B pins are otherwise the same blue pin)."""
    text = f"{label}: {lat:.3f}, {lon:.3f}"
    tooltip = folium.Tooltip(f"<b>{label}</b>", permanent=True, direction="right") if labelled else text
    folium.Marker((lat, lon), tooltip=tooltip, title=text).add_to(fg)


def clicked_lonlat(result: dict[str, Any] | None) -> tuple[float, float] | None:
    """(lon, lat) of the component's last click, longitude wrapped into [-180, 180)."""
    if not result:
        return None
    click = result.get("last_clicked")
    if not click or click.get("lat") is None or click.get("lng") is None:
        return None
    lon = (float(click["lng"]) + 180.0) % 360.0 - 180.0
    lat = max(-90.0, min(90.0, float(click["lat"])))
    return round(lon, 5), round(lat, 5)


def show_map(
    m: folium.Map,
    fg: folium.FeatureGroup,
    key: str,
    *,
    returned: tuple[str, ...] = ("last_clicked",),
    height: int = 520,
    view: tuple[float, float, int] | None = None,
) -> Any:
    """Draw a page's Leaflet map (the one ``st_folium`` call of the app): full column width, crisp pixels,
    ``fg`` redrawn without remounting the map, ``view`` (lat, lon, zoom) when a synced map sets it; returns
    what ``returned`` asks for (clicks also reach ``st.session_state[key]``)."""
    from streamlit_folium import st_folium

    return st_folium(
        m,
        key=key,
        feature_group_to_add=fg,
        returned_objects=list(returned),
        height=height,
        use_container_width=True,
        pixelated=True,
        center=(view[0], view[1]) if view else None,
        zoom=view[2] if view else None,
    )
