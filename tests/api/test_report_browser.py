"""The report page in a real browser (headless Chromium through Playwright): the
file a run writes and ``GET /report`` of a live uvicorn load with the network
disabled, ask no other host for anything, log no console error, and show the as-of
date and every segment's name, in the text and in the drawn chart.

"Network disabled": the file loads with Chromium's network emulated offline; the
live page, which needs 127.0.0.1, loads with every other host name unresolvable and
every request to another origin aborted, and each request is recorded, so an attempt
fails the test even where the page's Content-Security-Policy would have blocked it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..support import newest_release

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Visit:
    """What the browser did and showed for one page."""

    requests: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    text: str = ""
    chart_text: str = ""


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield browser
        browser.close()


def visit(
    browser: sync_api.Browser, url: str, *, offline: bool, chart: bool = True
) -> Visit:
    seen = Visit()
    context = browser.new_context(offline=offline)
    origin = _origin(url)

    def only_the_page_origin(route: sync_api.Route) -> None:
        if _origin(route.request.url) == origin:
            route.continue_()
        else:
            seen.aborted.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_page_origin)
    page = context.new_page()
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            seen.errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url
    seen.text = page.inner_text("body")
    if chart:
        page.wait_for_selector("#segment-sizes .main-svg")  # Plotly drew it
        seen.chart_text = page.eval_on_selector("#segment-sizes", "e => e.textContent")
    context.close()
    return seen


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def assert_shows_the_release_offline(seen: Visit, url: str, project: Path) -> None:
    assert seen.requests == [url]  # the page itself, nothing else
    assert seen.aborted == []
    assert seen.errors == []
    profile = newest_release(project).profile
    assert f"as of {profile.as_of.isoformat()}" in seen.text
    for name in profile.segment_names:
        assert name in seen.text
        assert name in seen.chart_text


def test_the_report_file_loads_offline_and_shows_the_release(browser, trained_project):
    url = (trained_project / "data" / "08_reporting" / "report.html").as_uri()
    seen = visit(browser, url, offline=True)
    assert_shows_the_release_offline(seen, url, trained_project)


def test_the_served_report_loads_with_no_other_host_and_shows_the_release(
    browser, live_server, trained_project
):
    url = f"{live_server}/report"
    seen = visit(browser, url, offline=False)
    assert_shows_the_release_offline(seen, url, trained_project)


def test_the_harness_sees_a_request_to_another_host(browser, tmp_path):
    """The checks above would fail for a page that asks another host for anything,
    from a file even where its Content-Security-Policy blocks it, and from a live
    server on 127.0.0.1 (the request is aborted and recorded)."""
    page = tmp_path / "page.html"
    page.write_text(
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        '<img src="https://example.com/logo.png"><p>hello</p>'
    )
    offline = visit(browser, page.as_uri(), offline=True, chart=False)
    assert "https://example.com/logo.png" in offline.requests
    assert offline.errors  # the policy's refusal is a console error
    (tmp_path / "served.html").write_text(
        '<img src="https://example.com/logo.png"><p>hello</p>'
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/served.html"
        served = visit(browser, url, offline=False, chart=False)
        server.shutdown()
    assert served.aborted == ["https://example.com/logo.png"]
