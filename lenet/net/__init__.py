"""The network: a LeNet config per preset, the model that reads top to bottom (c1 s2 c3 s4 c5 f6 output), the
RBF output's bitmaps, and the checkpoint file that carries both."""
