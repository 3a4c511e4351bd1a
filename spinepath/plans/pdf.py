"""The written plan as a PDF, printed with the fonts shipped in ``spinepath/plans/fonts``.

A patient's name must print as it is written - "Zoë Łukasz-Müller", "Иванова", "李" - on the
document they accept, whatever fonts the server happens to have. Nothing is fetched over the
network while printing: only the shipped font files are read.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
# (family, file, weight): the text face first, then the faces that fill in other scripts.
FONT_FACES = [
    ("Noto Sans", "NotoSans-Regular.ttf", 400),
    ("Noto Sans", "NotoSans-Bold.ttf", 700),
    ("Noto Sans CJK", "NotoSansHans-Regular.otf", 400),
    ("Noto Sans Hangul", "NotoSansKR-Regular.otf", 400),
]
# The document's font-family: a glyph missing from one family is taken from the next, and
# from the server's own fonts last.
FONT_FAMILY = '"Noto Sans", "Noto Sans CJK", "Noto Sans Hangul", "DejaVu Sans", sans-serif'


def font_face_css() -> str:
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
        f'src: url("{(FONTS_DIR / name).as_uri()}"); }}'
        for family, name, weight in FONT_FACES
    )


def _shipped_files_only(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    """WeasyPrint's URL fetcher, limited to the shipped fonts: no network, no other file."""
    from weasyprint import default_url_fetcher

    allowed = {(FONTS_DIR / name).as_uri() for _family, name, _weight in FONT_FACES}
    # An image written into the document itself (the outcomes report's charts) is no fetch.
    if url not in allowed and not url.startswith(
        ("data:image/svg+xml;base64,", "data:image/png;base64,")
    ):
        raise ValueError(f"the plan PDF reads only its shipped fonts, not {url}")
    result: dict[str, Any] = default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)
    return result


# WeasyPrint turns fontTools' logger up to DEBUG while it subsets each font and keeps the
# warnings for itself; passed on to the root logger, every glyph list would be written to the
# server's log (and formatted, which is slow) for every PDF.
logging.getLogger("fontTools").propagate = False


# Each thread loads the shipped fonts once (about 14 MB, a fifth of a plan's printing time)
# and prints every later document with them: a FontConfiguration is not shared between threads.
_loaded = threading.local()
_every_configuration: list[Any] = []


def _font_faces() -> tuple[Any, Any]:
    if getattr(_loaded, "faces", None) is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        faces = CSS(string=font_face_css(), font_config=fonts, url_fetcher=_shipped_files_only)
        _loaded.faces = (fonts, faces)
        _every_configuration.append(fonts)
    return _loaded.faces  # type: ignore[no-any-return]


@atexit.register
def _remove_the_font_folders() -> None:
    """Each configuration's folder of fonts goes when the process ends, while the standard
    library is still there to remove it (WeasyPrint's own clean-up runs too late then)."""
    for fonts in _every_configuration:
        if fonts._folder:
            shutil.rmtree(fonts._folder, ignore_errors=True)
            fonts._folder = None


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    fonts, faces = _font_faces()
    document = HTML(string=html, url_fetcher=_shipped_files_only)
    pdf: bytes = document.write_pdf(stylesheets=[faces], font_config=fonts)
    return pdf
