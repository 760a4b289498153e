"""The About tab: how to use each tab, the shipped models, what LeNet-5 is, the architectures here, and the data's
credits (text in about.md)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from lenet.net.config import ARCHITECTURES
from lenet.sources.data import DATASETS
from lenet.reading.inference import LoadedModel

# What each shipped model learned, in a sentence (its recipe, recipes/<name>.toml, has the details).
SHIPPED_NOTES = {
    "lenet5-mnist": "reads digits. Learned MNIST's handwritten digits, the 8×8 digits of UCI optdigits' "
                    "30 writers, continental ones and slashed zeros, and generated scribbles, letters and doodles, "
                    "so it can also say “that is not a digit”.",
    "lenet5-1998-mnist": "the 1998 paper's own network (scaled tanh, trainable subsampling, the sparse C3 table, "
                         "RBF output), trained on MNIST with the paper's distortions. Its RBF output answers "
                         "“none of these” when no digit's prototype is close, and a small head added on its "
                         "features tells digits from other drawings.",
    "lenet5-fashion-mnist": "the modern LeNet-5 trained on Fashion-MNIST: 60,000 small photos of ten kinds of "
                            "clothing. It reads clothes, not digits.",
}


def model_lines(shipped: dict[str, LoadedModel], default: str) -> str:
    lines = []
    for key, lm in shipped.items():
        arch = ARCHITECTURES[lm.arch].name if lm.arch in ARCHITECTURES else lm.arch
        data = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
        n_out = len(lm.classes) + (1 if lm.model.config.reject_class else 0)
        outputs = (f"{n_out} outputs: {', '.join(lm.classes[:3])} … {lm.classes[-1]}"
                   + (" and “not a digit”" if lm.model.config.reject_class else ""))
        acc = f", {lm.test_accuracy:.2%} right on the test set" if lm.test_accuracy is not None else ""
        note = SHIPPED_NOTES.get(key, f"trained on {data}.")
        lines.append(f"- **{arch} · {data}**{' (the default)' if key == default else ''}: {note} "
                     f"{outputs}{acc}.")
    return "\n".join(lines)


def text(shipped: dict[str, LoadedModel] | None = None, default: str | None = None) -> str:
    if shipped is None:
        from lenet.ui.common import DEFAULT_MODEL, SHIPPED
        shipped, default = SHIPPED, DEFAULT_MODEL
    architectures = "\n".join(f"- **{a.name}**: {a.description}" for a in ARCHITECTURES.values())
    return ((Path(__file__).with_name("about.md")).read_text().replace("{architectures}", architectures)
            .replace("{models}", model_lines(shipped, default)))


def build() -> None:
    gr.Markdown(text(), elem_id="about-text")
