"""What every tab shares: the shipped models (loaded once, read-only), the page's look, and error wording.

Module globals here are set once at import and never changed: one visitor's actions live in `gr.State`.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:  # ZeroGPU: imported before anything touches CUDA; without the package or the Space setting, a no-op.
    import spaces
except ImportError:
    spaces = None

import gradio as gr
import torch

from lenet.present import selectors
from lenet.training.background import READERS_FIRST
from lenet.reading.explain import FeatureIndex
from lenet.reading.inference import LoadedModel, load_shipped
from lenet.reading.preprocess import CanvasError

# Readings run at 1 torch thread: tiny work, as fast, and no OpenMP workers to spin or to wake; a training run
# takes every core in its own thread (lenet.training.background explains why that matters).
CORES = torch.get_num_threads()
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "lenet" / "static"
_LOADED = load_shipped(ROOT / "checkpoints")
DEFAULT_MODEL = "lenet5-mnist" if "lenet5-mnist" in _LOADED else next(iter(_LOADED))
# read-only, shared by every visitor; the default first, so it leads the model selector and every list of models
SHIPPED = {DEFAULT_MODEL: _LOADED[DEFAULT_MODEL], **{k: v for k, v in _LOADED.items() if k != DEFAULT_MODEL}}
gpu = spaces.GPU(duration=300) if spaces is not None else (lambda fn: fn)


def static_text(name: str) -> str:
    """A file of lenet/static/ (HTML, JS or CSS that a component uses), read once at build time."""
    return (STATIC / name).read_text()


@dataclass
class Page:
    """What every tab reads or sets: the model selector, the visitor's own model, Inspect's picked image."""
    model_dd: gr.Dropdown
    my_model: gr.State  # this visitor's trained or uploaded model (a LoadedModel), never shared
    # Inspect's picked test image, {"image": 28x28 float in [0, 1], "label", "title"} or None; the Train tab's
    # "open in Inspect" sets it too (then selects the Inspect tab), and Inspect shows it.
    inspect_pick: gr.State
    tabs: gr.Tabs | None = None

    @staticmethod
    def model(key, mine) -> LoadedModel:
        return selectors.resolve_model(key, SHIPPED, mine, DEFAULT_MODEL)


def build_header() -> Page:
    """The title and the model selector above the tabs, and the per-visitor states every tab shares."""
    with gr.Row(equal_height=True, elem_id="header"):
        with gr.Column(scale=3, min_width=300):  # min widths let the row wrap on a phone
            gr.Markdown("# LeNet-5 Studio\nDraw a digit and watch LeNet-5 read it · train it live · look inside.",
                        elem_id="intro")
        model_dd = gr.Dropdown(choices=selectors.model_choices(SHIPPED, None), value=DEFAULT_MODEL, label="Model",
                               info=selectors.model_info(SHIPPED[DEFAULT_MODEL]) + " For Draw and Inspect.",
                               elem_id="model-select", scale=4, min_width=260)
    return Page(model_dd=model_dd, my_model=gr.State(None), inspect_pick=gr.State(None))


@contextmanager
def unreadable_as_gr_error():
    """Around a visitor's reading (Draw, Inspect, the API): a canvas the core cannot read -> a clear message in the
    UI (and to API clients), no traceback. The reading also counts as in flight meanwhile: a training run gives
    way to it (lenet.training.background.ReadersFirst)."""
    try:
        with READERS_FIRST.reading():
            yield
    except (CanvasError, ValueError) as e:
        raise gr.Error(f"Could not read that image: {e}") from None


@functools.lru_cache(maxsize=None)
def shipped_index(key: str) -> FeatureIndex:
    """A shipped model's F6 features of the bundled sample, built on first use and then shared read-only."""
    return FeatureIndex.build(SHIPPED[key])


# Gradio 6: styling goes to launch(). show_error: an API client that sends a malformed value is told
# which field is wrong (Gradio's own validation, before our code runs) instead of a generic "error".
# Fonts set explicitly: the Soft theme's regular-weight Montserrat is served as Montserrat *Alternates* in
# Gradio 6.31 ("F6" reads "ꟻ6"). The system's own sans face needs no download and reads plainly everywhere.
# Helper text (info=, captions, hints) is darkened to reach WCAG AA 4.5:1 in both colour schemes (the
# theme's neutral-400 gives 2.5:1 on the light background); tests/test_browser.py measures it.
THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
          "Liberation Sans", "DejaVu Sans", "sans-serif"],
    font_mono=[gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "Menlo", "Consolas", "monospace"],
).set(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
    block_info_text_color="*neutral_600", block_info_text_color_dark="*neutral_300",
    block_label_text_color="*primary_700", block_title_text_color="*primary_700",
)
# Every stylesheet in lenet/static/, each beside the part of the UI whose HTML it styles; the scripts beside
# them are loaded once per page and act on the HTML by delegation (components/ holds per-component scripts).
CSS = "\n".join(p.read_text() for p in sorted(STATIC.glob("*.css")))
HEAD = "\n".join(f"<script>{p.read_text()}</script>" for p in sorted(STATIC.glob("*.js")))
LAUNCH_OPTIONS = dict(css=CSS, head=HEAD, theme=THEME, show_error=True)
