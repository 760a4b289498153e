"""Batched random affine distortions on the device: the paper's translation, scaling, squeezing, shear.

One random 2x3 matrix per sample, applied with affine_grid / grid_sample: no PIL, no loop.
"""
import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, generator: torch.Generator | None = None, rotation: float = 10.0,
                  translate: float = 0.1, scale: float = 0.1, squeeze: float = 0.1,
                  shear: float = 0.15) -> torch.Tensor:
    """x: (B, 1, H, W) in [0, 1], background 0. Rotation in degrees; the rest as fractions."""
    b = x.shape[0]

    def uniform(limit):
        return (torch.rand(b, generator=generator, device=x.device) * 2 - 1) * limit

    angle = uniform(math.radians(rotation))
    zoom = 1 + uniform(scale)
    aspect = 1 + uniform(squeeze)  # squeezing: x and y scaled in opposite directions
    sx, sy = zoom * aspect, zoom / aspect
    shx = uniform(shear)  # horizontal shear
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output coordinates to input coordinates (normalised to [-1, 1]).
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0] = cos / sx
    theta[:, 0, 1] = (-sin + shx * cos) / sx
    theta[:, 1, 0] = sin / sy
    theta[:, 1, 1] = (cos + shx * sin) / sy
    theta[:, :, 2] = torch.stack([uniform(2 * translate), uniform(2 * translate)], 1)  # 2x: [-1,1] spans the image
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# Named settings for --augment (TrainConfig.affine). "paper": the 1998 paper's planar affine distortions,
# translation, scaling, squeezing and horizontal shear, with no rotation (the studio default adds +-10 deg).
AFFINE_PRESETS = {"studio": {}, "paper": {"rotation": 0.0}}
