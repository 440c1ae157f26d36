"""The demo history: deterministic, tagged as planted by the real tagger, and a report that
shows estimated effects, talk tracks and top performers (checked in headless Chromium)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from talktracks.cli import main
from talktracks.demo import DemoConfig, generate_history, write_demo_history
from talktracks.demo.history import DATA_ORIGIN, SCRIPTS_DIR, _pools

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SMALL = DemoConfig(n_deals=320, n_reps=16, or_referral=3.0)
"""A smaller history (test time) with a stronger referral effect, so its report has a finding."""


def test_history_is_deterministic_and_shaped_for_the_importers(tmp_path: Path) -> None:
    a = write_demo_history(tmp_path / "a", SMALL)
    b = write_demo_history(tmp_path / "b", SMALL)
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()
    history = generate_history(SMALL)
    assert len(history.deals) == 320 and {d["data_origin"] for d in history.deals} == {DATA_ORIGIN}
    call = json.loads(a[0].read_text(encoding="utf-8").splitlines()[0])
    assert set(call) == {"call_id", "rep_id", "deal_id", "started_at", "duration", "utterances"}
    days = sorted(c["started_at"][:10] for c in history.calls)
    assert days[0] >= "2025-12-01" and days[-1] <= "2026-12-01"
    # Top reps call in the morning (UTC), the rest from 10:00.
    top = {r["rep_id"] for r in history.reps if r["top"]}
    hours = np.array([int(c["started_at"][11:13]) for c in history.calls])
    by_top = np.array([c["rep_id"] in top for c in history.calls])
    assert (hours[by_top] < 10).mean() > 0.6 and (hours[~by_top] < 10).mean() == 0


def test_every_demo_text_is_tagged_as_planted_by_the_shipped_tagger() -> None:
    from talktracks.behaviours.registry import load_current_model

    model = load_current_model()
    for key, texts in _pools(SCRIPTS_DIR).items():
        speaker = "customer" if key == "customer" else "rep"
        found = model.tag(texts, [speaker] * len(texts), [30.0] * len(texts))
        want = [] if key in ("rep", "customer") else [key]
        for text, decisions in zip(texts, found, strict=True):
            assert sorted(d.behaviour for d in decisions) == want, text


def _png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit non-interlaced RGB/RGBA PNG (what Chromium writes) to an array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        f, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        cur = np.frombuffer(line, dtype=np.uint8).astype(np.int32)
        if f == 0:
            row = cur
        elif f == 2:
            row = (cur + prev) % 256
        else:  # sub, average, paeth need the left neighbour: do it pixel by pixel
            row = np.zeros(stride, dtype=np.int32)
            for i in range(stride):
                a = row[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (cur[i] + pred) % 256
        out[y] = row
        prev = row
    return out.reshape(height, width, channels)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("demo")
    transcripts, deals = write_demo_history(tmp, SMALL)
    db = f"sqlite:///{tmp / 'demo.db'}"
    assert main(["import-transcripts", str(transcripts), "--db", db]) == 0
    assert main(["import-deals", str(deals), "--db", db]) == 0
    out = tmp / "analysis"
    assert main(["analyze", "--db", db, "--out", str(out)]) == 0
    return out


def test_demo_report_shows_effects_tracks_and_top_performers(demo_report: Path) -> None:
    summary = json.loads((demo_report / "summary.json").read_text(encoding="utf-8"))
    assert summary["sufficient"] and summary["n_synthetic_deals"] == 320
    assert summary["message"].startswith("Demo data: 320 of 320 deals")
    assert summary["headline"].startswith("Deals where the rep asked for a referral won ")
    assert summary["top_performers_message"].startswith("Top performers: the 4 reps")
    html = (demo_report / "report.html").read_text(encoding="utf-8")
    assert "synthetic demo data" in html and "Top performers vs the rest" in html
    top = (demo_report / "top_performers.csv").read_text(encoding="utf-8")
    assert "hour_share_1" in top


def test_demo_report_in_headless_chromium(demo_report: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    summary = json.loads((demo_report / "summary.json").read_text(encoding="utf-8"))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-demo.png"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((demo_report / "report.html").as_uri())
            # Header and summary say the data are synthetic, visibly.
            sync_api.expect(page.locator("h1 .tag")).to_have_text("synthetic demo data")
            sync_api.expect(page.locator("p.demo")).to_be_visible()
            headline = page.locator("p.headline")
            sync_api.expect(headline).to_have_text(summary["headline"])
            # An estimated effect with its interval is in the effects table.
            rows = page.locator("table").nth(1).locator("tbody tr")
            texts = rows.all_inner_texts()
            assert any("Referral request" in t and "joint" not in t and "[" in t for t in texts)
            assert any("smallest detectable" in h for h in page.locator("th").all_inner_texts())
            for title in ("Talk tracks", "Top performers vs the rest", "Monthly trend"):
                sync_api.expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
            box = headline.bounding_box()
            assert box is not None and box["width"] > 300 and box["y"] < 900
            page.screenshot(path=str(shot))
            page.screenshot(path=str(ARTIFACTS / "report-demo-full.png"), full_page=True)
        finally:
            browser.close()
    pixels = _png_pixels(shot.read_bytes())
    assert pixels.shape[:2] == (900, 1280)
    # The first screen is a rendered page, not blank: many colours, and the purple demo
    # banner (#ede7f6 background, #5e35b1 border) is painted.
    flat = pixels[..., :3].reshape(-1, 3)
    assert len(np.unique(flat[::7], axis=0)) > 50
    assert np.any(np.all(flat == [0x5E, 0x35, 0xB1], axis=1))
