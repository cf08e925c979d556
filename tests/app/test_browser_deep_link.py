"""A fresh server whose first request is a link to a page, in Chromium (its own module: Playwright's sync API
cannot run beside test_browser.py's module-wide browser)."""

from __future__ import annotations

from pathlib import Path

from tests.app.test_browser import CHROMIUM, _require_browser, _settled


def test_a_link_to_a_page_as_the_first_request_after_start(app_env: dict[str, str], tmp_path: Path) -> None:
    """The first request of a fresh server was /search (a bookmark, a tab reloaded after a restart): Streamlit ran
    pages/search.py alone in its old 'pages folder' mode, for every visitor, with a menu of file names
    ('streamlit app', 'downstream', ...) and without streamlit_app.py's page settings (title, wide layout)."""
    _require_browser()
    from tools.app_browser import browser, running_app

    with (
        running_app(app_env["SATCLIP_APP_MODEL"], float(app_env["SATCLIP_APP_RESOLUTION"]), tmp_path / "log") as url,
        browser(tmp_path / "profile", url, CHROMIUM, []) as ctx,
    ):
        page = ctx.new_page()
        page.goto(url + "/search", timeout=120_000)
        page.get_by_text("Search with pins").first.wait_for(timeout=180_000)
        _settled(page)
        nav = page.locator("[data-testid=stSidebarNav]").inner_text()
        assert "streamlit app" not in nav and "downstream" not in nav, nav
        assert all(n in nav for n in ("Explore", "Search", "Label", "Projection", "Downstream", "Embed", "Model"))
        assert page.title() == "satclip explorer"
        assert "Search" in page.locator("[data-testid=stSidebarNav] [aria-current=page]").inner_text()
