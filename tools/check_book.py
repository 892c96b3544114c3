"""Checks a built book (``_build/html``): every chapter page exists, has a figure and no error
output; and, in headless Chromium when it is installed, that math is typeset and images load.

    python tools/check_book.py [--build _build/html] [--require-chromium]

Exit status 0 when every check passes; each failure is printed with the page it concerns.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ERROR_MARKERS = ("Traceback (most recent call last)", "output traceback", "highlight-ipythontb", "output stderr")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--allow-file-access-from-files",
]
PROBE = """
<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var imgs = Array.prototype.slice.call(document.images);
    var report = {
      images: imgs.length,
      broken: imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).map(function (i) { return i.src; }),
      math: document.querySelectorAll('mjx-container').length,
      raw_math: (document.body.innerText.match(/\\$\\$|\\\\\\(|\\\\\\[/g) || []).length
    };
    var pre = document.createElement('pre');
    pre.id = 'bisenet-book-check';
    pre.textContent = JSON.stringify(report);
    document.body.appendChild(pre);
  }, 3000);
});
</script>
"""


def toc_files(toc: Path) -> list[str]:
    """The source paths (without suffix) the table of contents lists, root first."""
    data = yaml.safe_load(toc.read_text())
    files = [data["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data.get("parts", data.get("chapters", [])))
    return files


def check_static(build: Path, toc: Path) -> list[str]:
    problems = []
    for name in toc_files(toc):
        page = build / f"{name}.html"
        if not page.exists():
            problems.append(f"{page}: missing (listed in {toc.name})")
            continue
        html = page.read_text(errors="replace")
        for marker in ERROR_MARKERS:
            if marker in html:
                problems.append(f"{page}: contains error output ({marker!r})")
                break
        if name.startswith("notebooks/") and not re.search(r"<img [^>]*src=", html):
            problems.append(f"{page}: a chapter without a figure")
    return problems


def chromium_binary() -> str | None:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(candidate):
            return shutil.which(candidate)
    return None


def probe_page(chromium: str, page: Path) -> dict:
    """Load ``page`` in headless Chromium with a probe script and return its report."""
    probe = page.with_name(page.stem + ".__check__.html")
    html = page.read_text(errors="replace")
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    try:
        out = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, "--virtual-time-budget=15000", "--dump-dom", probe.resolve().as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        probe.unlink(missing_ok=True)
    found = re.search(r'<pre id="bisenet-book-check">(.*?)</pre>', out.stdout, re.S)
    if not found:
        return {"error": f"no report from Chromium (exit {out.returncode}): {out.stderr.strip()[-300:]}"}
    return json.loads(found.group(1).replace("&quot;", '"'))


def check_browser(build: Path, pages: list[str], chromium: str) -> list[str]:
    problems = []
    for name in pages:
        page = build / f"{name}.html"
        report = probe_page(chromium, page)
        if "error" in report:
            problems.append(f"{page}: {report['error']}")
            continue
        if report["math"] == 0:
            problems.append(f"{page}: no typeset math (MathJax did not run: {report['raw_math']} raw delimiters)")
        if report["broken"]:
            problems.append(f"{page}: images that did not load: {report['broken'][:3]}")
        if name.startswith("notebooks/") and report["images"] == 0:
            problems.append(f"{page}: no images")
        print(f"  {name}: {report['math']} typeset formulas, {report['images']} images, {len(report['broken'])} broken")
    return problems


def check_search(build: Path, chromium: str, word: str = "attention") -> list[str]:
    """The theme's search, run offline in Chromium, finds pages for ``word``."""
    page = (build / "search.html").resolve()
    out = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--virtual-time-budget=15000", "--dump-dom", f"{page.as_uri()}?q={word}"],
        capture_output=True, text=True, timeout=120,
    )
    hits = re.findall(r'<li[^>]*><a href="([^"]+\.html)', out.stdout)
    print(f"  search for {word!r}: {len(hits)} result(s)")
    return [] if hits else [f"{page}: searching {word!r} offline found nothing"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=str(ROOT / "_build" / "html"))
    p.add_argument("--toc", default=str(ROOT / "_toc.yml"))
    p.add_argument("--browser-pages", default="book/intro,notebooks/03_what_makes_a_network_fast,"
                   "notebooks/13_losses,notebooks/16_ablations",
                   help="pages (toc paths) to load in Chromium")
    p.add_argument("--require-chromium", action="store_true", help="fail when Chromium is not installed")
    args = p.parse_args(argv)
    build, toc = Path(args.build), Path(args.toc)
    problems = check_static(build, toc)
    print(f"static checks of {len(toc_files(toc))} pages: {len(problems)} problem(s)")
    chromium = chromium_binary()
    if chromium:
        pages = [p for p in args.browser_pages.split(",") if (build / f"{p}.html").exists()]
        problems += check_browser(build, pages, chromium)
        problems += check_search(build, chromium)
    elif args.require_chromium:
        problems.append("Chromium is not installed (apt-get install chromium)")
    else:
        print("Chromium not installed: browser checks skipped (apt-get install chromium)")
    for line in problems:
        print("FAIL", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
