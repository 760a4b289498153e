"""LeNet-5 Studio core: models, data, training, checkpoints, preprocessing.

This package never imports gradio: the app only wires UI components to these functions.
"""
from lenet.net.config import PRESETS, LeNetConfig, preset
from lenet.net.model import LeNet

__all__ = ["PRESETS", "LeNetConfig", "LeNet", "preset"]
