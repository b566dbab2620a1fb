"""Screenshot report.html in headless Chromium, one PNG per section.

    python scripts/screenshot_report.py out/demo/report.html out/demo/screens

The page is split at its <h2> and <h3> headings; each section is rendered on its own
page with the report's stylesheet, at 1280 px width (folded <details> are
opened so their tables show), and cropped to its content. Chromium needs
no network and no profile: a fresh --user-data-dir per shot.

Needs a Chromium binary (`apt-get install chromium`, or --chromium PATH) and
Pillow (installed with matplotlib). Prints one line per PNG written.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
         "--default-background-color=ffffffff", "--force-device-scale-factor=1"]


def sections(page: str) -> tuple[str, list[tuple[str, str]]]:
    """(the page's <head>, [(title, body html)]) split at each <h2> and <h3>
    (the behaviours section is one page per facet); the part before the
    first heading (title, intro) joins the first section."""
    head = page[:page.index("<body>")]
    body = page[page.index("<body>") + len("<body>"):page.rindex("</body>")]
    parts = re.split(r"(?=<h[23]>)", body)
    if len(parts) > 1 and not re.search(r"<h[23]>", parts[0]):
        parts = [parts[0] + parts[1]] + parts[2:]
    out = []
    for p in parts:
        m = re.search(r"<h[23]>(.*?)</h[23]>", p)
        title = re.sub(r"<[^>]+>", "", m.group(1)) if m else "page"
        out.append((title, p.replace("<details>", "<details open>")))
    return head, out


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "section"


def shoot(chromium: str, html: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={png}", html.as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def crop(png: Path, margin: int = 16) -> bool:
    """Crop the white space below the content; False when the content reaches
    the bottom edge (the window was too short)."""
    img = Image.open(png).convert("RGB")
    a = np.asarray(img)
    rows = np.flatnonzero((a < 250).any(axis=(1, 2)))
    if len(rows) == 0:
        return True
    bottom = int(rows[-1]) + 1
    if bottom >= a.shape[0] - 2:
        return False
    img.crop((0, 0, a.shape[1], min(a.shape[0], bottom + margin))).save(png)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="report.html")
    ap.add_argument("out", type=Path, help="folder for the PNGs")
    ap.add_argument("--width", type=int, default=1280, help="window width in px (default 1280)")
    ap.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    args = ap.parse_args(argv)
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("error: no chromium on PATH (apt-get install chromium, or pass --chromium)", file=sys.stderr)
        return 2
    head, parts = sections(args.report.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-sections-") as tmp:
        for i, (title, body) in enumerate(parts, 1):
            page = Path(tmp) / f"{i:02d}.html"
            page.write_text(f"{head}<body>{body}</body></html>", encoding="utf-8")
            png = args.out / f"{i:02d}-{slug(title)}.png"
            height = 4000
            while True:
                shoot(chromium, page, png, args.width, height)
                if crop(png) or height >= 32000:
                    break
                height *= 2
            w, h = Image.open(png).size
            print(f"{png}  {w}x{h}  {title}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HOME", tempfile.gettempdir())
    sys.exit(main())
