"""The do-nothing baseline for every "floor" measurement: a Sketchpad -> Label app whose /predict returns a
constant, so what is left is Gradio's own cost (bench/app/latency.py imports it; bench/app/load_test.py runs it)."""
from __future__ import annotations

import gradio as gr

CONSTANT = {str(i): 0.1 for i in range(10)}


def build() -> gr.Blocks:
    with gr.Blocks(title="floor") as demo:
        pad = gr.Sketchpad(type="numpy", image_mode="RGBA", canvas_size=(280, 280), layers=False, transforms=())
        label = gr.Label(num_top_classes=10)
        btn = gr.Button(visible=False)
        btn.click(lambda canvas: CONSTANT, [pad], [label], api_name="predict", preprocess=False,
                  show_progress="hidden", concurrency_limit=4)
    demo.queue(default_concurrency_limit=4)
    return demo


if __name__ == "__main__":
    build().launch()  # GRADIO_SERVER_PORT / GRADIO_SERVER_NAME come from the environment (common.start_app)
