"""The Gradio UI: one module per tab (draw, train, inspect, about) plus the public API and what they share.

This package is the only part of `lenet` that imports gradio; `app.py` builds the page from it and launches.
Each tab module owns its components (a dataclass made by `build()`) and its handlers, which return
`{component: value}` dicts.
"""
