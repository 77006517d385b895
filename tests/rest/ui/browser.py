"""A headless Chromium driven by Selenium for the console's browser tests: Debian's ``chromium`` and
``chromium-driver`` (scripts/test installs them), screenshots checked non-blank, and axe-core (installed by the
project's npm step in tests/rest/ui) injected into a page to list its accessibility violations."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        return "Debian's chromium and chromium-driver are not installed (scripts/test installs them)"
    if not AXE.is_file():
        return "axe-core is not installed (scripts/test runs npm ci in tests/rest/ui)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the test extra)"
    return None


def require() -> None:
    """Skip the calling test when the browser cannot run here, saying why; fail it under CI (``CI=true``), where
    scripts/test installed everything, so a missing piece is a broken set-up, not a choice."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the console's browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium() -> Any:
    """A headless Chromium with a fixed window size, so screenshots are comparable."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "chromedriver"))


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str, timeout_s: float = 30) -> Any:
    """Wait until ``condition(driver)`` is truthy; fail naming ``what`` (with the page's text) if it never is."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout_s, poll_frequency=0.2).until(condition)
    except TimeoutException:
        body = driver.find_element("tag name", "body").text
        pytest.fail(f"the console never showed {what}; the page said:\n{body[:3000]}")


def screenshot(driver: Any, path: Path) -> Path:
    """Save the page as PNG at ``path`` and check it is not blank (more than a handful of distinct colours)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    png = driver.get_screenshot_as_png()
    path.write_bytes(png)
    colours = distinct_colours(png)
    assert colours > 8, f"screenshot {path.name} is blank ({colours} colours)"
    return path


def distinct_colours(png: bytes) -> int:
    """How many distinct pixel values an 8-bit RGB or RGBA PNG (what Chromium writes) has."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, data, header = 8, b"", b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        chunk = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            data += chunk
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8, f"unexpected PNG bit depth {depth}"
    assert colour_type in (2, 6), f"unexpected PNG colour type {colour_type}"
    pixel = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(data), width * pixel
    previous, seen = bytearray(stride), set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - pixel] if i >= pixel else 0
            up, corner = previous[i], previous[i - pixel] if i >= pixel else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        if row % 8 == 0:
            seen.update(bytes(line[i : i + pixel]) for i in range(0, stride, pixel * 4))
        previous = line
    return len(seen)


def serious_violations(driver: Any) -> list[str]:
    """axe-core's serious and critical violations of the current page, one line each."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));"
    )
    assert isinstance(result, list), f"axe-core failed: {result}"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
