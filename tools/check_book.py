"""Checks a built book (``_build/html``): every chapter page exists, has a figure and no error
output; every chapter has its slide deck (``slides/<chapter>.slides.html``, ``tools/slides.py``)
loading nothing from the network, and every link to a deck resolves; and, in headless Chromium
when it is installed, that math is typeset, images load, search works and one deck renders its
slides with reveal.js.

    python tools/check_book.py [--build _build/html] [--toc _toc.yml] [--require-chromium]
                               [--no-slides] [--students]

``--students`` checks a students' build (``make book-students``): no page may hold a solution.
Chromium is looked up as ``BISENET_CHROMIUM`` (a path), else ``chromium``, ``chromium-browser``
or ``google-chrome`` on the PATH. Exit status 0 when every check passes; each failure is printed
with the page it concerns.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ERROR_MARKERS = ("Traceback (most recent call last)", "output traceback", "highlight-ipythontb", "output stderr")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--allow-file-access-from-files",
]
PROBE = """
<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var imgs = Array.prototype.slice.call(document.images);
    var report = {
      images: imgs.length,
      broken: imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; })
                  .map(function (i) { return i.src; }),
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


SLIDES = "slides"
# what a solution block becomes in the HTML: the admonition's title, or a sphinx-design dropdown's
SOLUTION_MARKERS = (
    re.compile(r'<p class="admonition-title">\s*Solutions?\s*</p>'),
    re.compile(r'<span class="sd-summary-text">\s*Solutions?\s*</span>'),
)


def check_slides(build: Path, toc: Path) -> list[str]:
    """Every chapter (a ``notebooks/`` entry of the toc) has its deck; a deck's scripts and style
    sheets are local files that exist; every link to a deck from a page of the book resolves."""
    problems = []
    slides = build / SLIDES
    for name in toc_files(toc):
        if not name.startswith("notebooks/"):
            continue
        deck = slides / f"{Path(name).name}.slides.html"
        if not deck.exists():
            problems.append(f"{deck}: missing (the deck of {name}; tools/slides.py builds it)")
            continue
        html = deck.read_text(errors="replace")
        for url in re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"#]+)"', html):
            if url.startswith("data:"):
                continue
            if re.match(r"(?:https?:)?//", url):
                problems.append(f"{deck}: loads {url} from the network")
            elif not (deck.parent / url).exists():
                problems.append(f"{deck}: {url} does not exist")
    for page in build.rglob("*.html"):
        if slides in page.parents:
            continue
        for url in set(re.findall(r'href="([^"#]*/slides/[^"#]+\.html)"', page.read_text(errors="replace"))):
            if not (page.parent / url).exists():
                problems.append(f"{page}: its link to {url} does not resolve")
    return problems


def check_no_solutions(build: Path, toc: Path) -> list[str]:
    """No page of a students' build holds a solution block."""
    problems = []
    for name in toc_files(toc):
        page = build / f"{name}.html"
        if page.exists():
            html = page.read_text(errors="replace")
            if any(marker.search(html) for marker in SOLUTION_MARKERS):
                problems.append(f"{page}: holds a solution (a students' build must not)")
    return problems


def chromium_binary() -> str | None:
    given = os.environ.get("BISENET_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
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
            capture_output=True,
            text=True,
            timeout=120,
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
        capture_output=True,
        text=True,
        timeout=120,
    )
    hits = re.findall(r'<li[^>]*><a href="([^"]+\.html)', out.stdout)
    print(f"  search for {word!r}: {len(hits)} result(s)")
    return [] if hits else [f"{page}: searching {word!r} offline found nothing"]


DECK_PROBE = """
<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var report = {reveal: typeof Reveal !== 'undefined', ready: false, slides: 0, sections: 0,
                  math: document.querySelectorAll('mjx-container').length,
                  broken: Array.prototype.slice.call(document.images).filter(function (i) {
                    return !i.complete || i.naturalWidth === 0; }).length,
                  visible: 0};
    if (report.reveal) {
      report.ready = Reveal.isReady();
      report.slides = Reveal.getTotalSlides();
      var current = Reveal.getCurrentSlide();
      report.visible = current ? current.getBoundingClientRect().height : 0;
    }
    report.sections = document.querySelectorAll('.reveal .slides > section').length;
    var pre = document.createElement('pre');
    pre.id = 'bisenet-book-check';
    pre.textContent = JSON.stringify(report);
    document.body.appendChild(pre);
  }, 4000);
});
</script>
"""


def pick_deck(build: Path) -> Path | None:
    """The deck with the most slides (ties: the first by name)."""
    decks = sorted((build / SLIDES).glob("*.slides.html"))
    return max(decks, key=lambda d: d.read_text(errors="replace").count("<section"), default=None)


def check_deck(build: Path, chromium: str, deck: Path | None = None) -> list[str]:
    """One deck, loaded in headless Chromium: reveal.js initialised, more than its title slide,
    the current slide laid out, images loaded, and MathJax typeset when the deck has math."""
    deck = deck or pick_deck(build)
    if deck is None:
        return [f"{build / SLIDES}: no deck to open"]
    probe = deck.with_name(deck.stem + ".__check__.html")
    html = deck.read_text(errors="replace")
    probe.write_text(html.replace("</body>", DECK_PROBE + "</body>", 1))
    try:
        out = subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                "--window-size=1280,800",
                "--virtual-time-budget=20000",
                "--dump-dom",
                probe.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe.unlink(missing_ok=True)
    found = re.search(r'<pre id="bisenet-book-check">(.*?)</pre>', out.stdout, re.S)
    if not found:
        return [f"{deck}: no report from Chromium (exit {out.returncode}): {out.stderr.strip()[-300:]}"]
    report = json.loads(found.group(1).replace("&quot;", '"'))
    print(
        f"  deck {deck.name}: reveal.js {'ready' if report['ready'] else 'NOT ready'}, {report['slides']} slides, "
        f"{report['math']} typeset formulas, {report['broken']} broken images"
    )
    problems = []
    if not (report["reveal"] and report["ready"]):
        problems.append(f"{deck}: reveal.js did not initialise")
    elif report["slides"] < 2 or report["visible"] <= 0:
        problems.append(f"{deck}: {report['slides']} slide(s) rendered, current slide height {report['visible']}")
    if report["broken"]:
        problems.append(f"{deck}: {report['broken']} image(s) did not load")
    prose = re.sub(r"<(script|style|pre|code)\b.*?</\1>", "", html, flags=re.S)  # MathJax skips code
    has_math = re.search(r"\$[^$<>]+\$", prose)
    if has_math and report["math"] == 0:
        problems.append(f"{deck}: math left untypeset (MathJax did not run)")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=str(ROOT / "_build" / "html"))
    p.add_argument("--toc", default=str(ROOT / "_toc.yml"))
    p.add_argument(
        "--browser-pages",
        default="book/intro,book/notation,notebooks/03_what_makes_a_network_fast,"
        "notebooks/13_losses,notebooks/16_ablations",
        help="pages (toc paths) to load in Chromium",
    )
    p.add_argument("--require-chromium", action="store_true", help="fail when Chromium is not installed")
    p.add_argument("--no-slides", action="store_true", help="skip the slide decks' checks")
    p.add_argument("--deck", default=None, help="the deck to open in Chromium (default: the one with most slides)")
    p.add_argument("--students", action="store_true", help="a students' build: fail on any solution")
    args = p.parse_args(argv)
    build, toc = Path(args.build), Path(args.toc)
    problems = check_static(build, toc)
    print(f"static checks of {len(toc_files(toc))} pages: {len(problems)} problem(s)")
    if not args.no_slides:
        slide_problems = check_slides(build, toc)
        print(
            f"slide decks: {len(list((build / SLIDES).glob('*.slides.html')))} found, {len(slide_problems)} problem(s)"
        )
        problems += slide_problems
    if args.students:
        problems += check_no_solutions(build, toc)
    chromium = chromium_binary()
    if chromium:
        pages = [p for p in args.browser_pages.split(",") if (build / f"{p}.html").exists()]
        problems += check_browser(build, pages, chromium)
        problems += check_search(build, chromium)
        if not args.no_slides:
            problems += check_deck(build, chromium, Path(args.deck) if args.deck else None)
    elif args.require_chromium:
        problems.append("Chromium is not installed (apt-get install chromium)")
    else:
        print("Chromium not installed: browser checks skipped (apt-get install chromium)")
    for line in problems:
        print("FAIL", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
