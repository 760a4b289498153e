"""Icons for status lines and verdicts, as empty spans that lenet/static/layout.css draws (an SVG mask in the
text's colour): they render on every machine, unlike colour emoji, which need a font many Linux desktops and school
machines lack (there they show as empty boxes). aria-hidden: the words next to each icon say the same."""
from __future__ import annotations


def _icon(name: str) -> str:
    return f'<span class="ico ico-{name}" aria-hidden="true"></span>'


OK, WARN, FAIL, STOP, WAIT = _icon("ok"), _icon("warn"), _icon("fail"), _icon("stop"), _icon("wait")
PEN, ASK, NO, SHIRT = _icon("pen"), _icon("ask"), _icon("no"), _icon("shirt")
