"""What a model learns from: MNIST / Fashion-MNIST as whole tensors, batched distortions, and the extra sources of
the honest reader (generated non-digits, writing styles, coarse copies, real writers, handwriting fonts, real
pen digits and sketches)."""
