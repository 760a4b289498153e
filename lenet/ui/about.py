"""The About tab: what LeNet-5 is, the architectures here, and the data's credits (text in about.md)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from lenet.config import ARCHITECTURES


def text() -> str:
    architectures = "\n".join(f"- **{a.name}** (`{k}`): {a.description}" for k, a in ARCHITECTURES.items())
    return (Path(__file__).with_name("about.md")).read_text().replace("{architectures}", architectures)


def build() -> None:
    gr.Markdown(text(), elem_id="about-text")
