"""Reading a drawing: strokes to a canvas, MNIST's framing, the model's reading and verdict, explanations, and the
payload that lets the page read in the browser."""
