"""``/docs`` and ``/redoc`` work without internet: every asset from the app itself,
and a browser told to load nothing from another host."""

from __future__ import annotations

import re
import shutil

import pytest

PAGES = {"/docs": ".swagger-ui .info .title", "/redoc": "h1"}


@pytest.mark.parametrize("page", PAGES)
def test_the_page_and_its_assets_come_from_the_app(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"https?://", html), "the page names another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 2
    for asset in assets:
        assert asset.startswith("/"), asset
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "http" not in policy


def test_swagger_ui_calls_no_online_validator(client):
    assert '"validatorUrl": null' in client.get("/docs").text


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="no chromium")
def test_a_browser_offline_renders_both_pages_from_the_app_alone(live_server):
    """Chromium with every other host unreachable: both pages show the API and its
    ten operations, and every request that loaded was to the app."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox"]
        )
        try:
            context = browser.new_context()
            context.route(
                re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                lambda route: route.abort("internetdisconnected"),
            )
            loaded: list[str] = []
            context.on("requestfinished", lambda request: loaded.append(request.url))
            for page_path, title in PAGES.items():
                page = context.new_page()
                page.goto(live_server + page_path)
                page.wait_for_selector(title, timeout=30_000)
                assert "rfm-segmentation" in page.inner_text(title)
                operations = (
                    ".opblock"
                    if page_path == "/docs"
                    else "[data-section-id^='operation/']"
                )
                page.wait_for_selector(operations, timeout=30_000)
                assert page.locator(operations).count() >= 10
                page.wait_for_timeout(500)  # late loads (images) included
        finally:
            browser.close()
    others = [url for url in loaded if not url.startswith((live_server, "blob:"))]
    assert loaded and others == []
