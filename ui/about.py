"""The About tab: how to use each tab, the shipped models, what LeNet-5 is, the architectures here, and the data's
credits (text in about.md)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from lenet.net.config import ARCHITECTURES
from lenet.sources.data import DATASETS
from lenet.present.model_story import stages
from lenet.reading.inference import LoadedModel

def model_lines(shipped: dict[str, LoadedModel], default: str) -> str:
    lines = []
    for key, lm in shipped.items():
        arch = ARCHITECTURES[lm.arch].name if lm.arch in ARCHITECTURES else lm.arch
        data = DATASETS[lm.dataset].title if lm.dataset in DATASETS else lm.dataset
        n_out = len(lm.classes) + (1 if lm.model.config.reject_class else 0)
        outputs = (f"{n_out} outputs: {', '.join(lm.classes[:3])} … {lm.classes[-1]}"
                   + (" and “not a digit”" if lm.model.config.reject_class else ""))
        acc = f", {lm.test_accuracy:.2%} right on the test set" if lm.test_accuracy is not None else ""
        made = "".join(f"\n  {i}. {line}" for i, line in enumerate(stages(lm), 1))
        lines.append(f"- **{arch} · {data}**{' (the default)' if key == default else ''}: {outputs}{acc}."
                     + (f" How it was made ({lm.meta['recipe']['file']}):{made}" if made else ""))
    return "\n".join(lines)


def text(shipped: dict[str, LoadedModel] | None = None, default: str | None = None) -> str:
    if shipped is None:
        from ui.common import DEFAULT_MODEL, SHIPPED
        shipped, default = SHIPPED, DEFAULT_MODEL
    architectures = "\n".join(f"- **{a.name}**: {a.description}" for a in ARCHITECTURES.values())
    return ((Path(__file__).with_name("about.md")).read_text().replace("{architectures}", architectures)
            .replace("{models}", model_lines(shipped, default)))


def build() -> None:
    gr.Markdown(text(), elem_id="about-text")
