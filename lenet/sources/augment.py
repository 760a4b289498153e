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


# ---------- canvas-like distortions: how many different people draw on a canvas ----------
# All batched on the device, one random draw per sample. `canvas_like` composes them into ONE resampling at
# twice the resolution (repeated bilinear resampling would blur the strokes), then `renormalize` frames the
# result the way `lenet.reading.preprocess.canvas_to_digit` frames a drawing (bounding box scaled into 20x20, centre
# of mass at the centre, peak ink 1), so training sees what the app shows the network.

CANVAS_DISTORTIONS = ("stroke", "elastic", "slant", "broken")


def _uniform(b, limit, generator, device):
    return (torch.rand(b, generator=generator, device=device) * 2 - 1) * limit


def _max3(x: torch.Tensor) -> torch.Tensor:
    """3x3 max filter (dilation) as two separable shifted maxima: much faster than max_pool2d(stride=1) on CPU."""
    p = F.pad(x, (1, 1, 0, 0))
    x = torch.maximum(torch.maximum(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    p = F.pad(x, (0, 0, 1, 1))
    return torch.maximum(torch.maximum(p[..., :-2, :], p[..., 1:-1, :]), p[..., 2:, :])


def stroke_width(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.6) -> torch.Tensor:
    """Thinner or thicker pens on a (B, 1, H, W) batch at 2x resolution: per sample erode one pixel, dilate one
    or two, or (with probability 1 - p) leave it. A digit that erosion would wipe out is left as it was."""
    b = x.shape[0]
    dil = _max3(x)
    ero = -_max3(-x)
    dil2 = _max3(dil)
    choice = torch.randint(0, 4, (b, 1, 1, 1), generator=generator, device=x.device)  # thin, thick, thicker, same
    keep = torch.rand(b, 1, 1, 1, generator=generator, device=x.device) >= p
    out = torch.where(choice == 0, ero, torch.where(choice == 1, dil, torch.where(choice == 2, dil2, x)))
    out = torch.where(keep, x, out)
    gone = out.flatten(1).sum(1) < 0.3 * x.flatten(1).sum(1)
    return torch.where(gone.view(-1, 1, 1, 1), x, out)


def elastic_field(b: int, h: int, w: int, generator=None, device=None, alpha: float = 34.0,
                  sigma: float = 4.0) -> torch.Tensor:
    """Simard, Steinkraus & Platt (2003): a random displacement in [-1, 1] per pixel, smoothed with a Gaussian
    of `sigma` pixels and scaled by `alpha` pixels
    (their MNIST values: sigma 4, alpha 34), times a per-sample strength in [0, 1] (tidy and untidy writers).
    Returns (B, 2, H, W): x and y displacement in pixels."""
    field = torch.rand(b, 2, h, w, generator=generator, device=device) * 2 - 1
    field = _gaussian_matrix(h, sigma, device) @ field @ _gaussian_matrix(w, sigma, device).T  # separable blur
    strength = torch.rand(b, 1, 1, 1, generator=generator, device=device)
    return field * alpha * strength


def _gaussian_matrix(n: int, sigma: float, device) -> torch.Tensor:
    """(n, n): row i holds Gaussian weights around i, renormalised at the borders (a blur as one matmul)."""
    t = torch.arange(n, device=device, dtype=torch.float32)
    g = torch.exp(-(t.view(-1, 1) - t.view(1, -1)) ** 2 / (2 * sigma**2))
    return g / g.sum(1, keepdim=True)


def elastic(x: torch.Tensor, generator: torch.Generator | None = None, alpha: float = 34.0,
            sigma: float = 4.0) -> torch.Tensor:
    b, _, h, w = x.shape
    return _warp(x, elastic_field(b, h, w, generator, x.device, alpha, sigma), None)


def _affine_matrix(b, generator, device, rotation=12.0, scale=0.1, squeeze=0.15, shear=0.0) -> torch.Tensor:
    """(B, 2, 2): output -> input in centred pixel coordinates: small rotation, scale, squeeze, shear (slant)."""
    angle = _uniform(b, math.radians(rotation), generator, device)
    zoom = 1 + _uniform(b, scale, generator, device)
    aspect = 1 + _uniform(b, squeeze, generator, device)
    sx, sy = zoom * aspect, zoom / aspect
    shx = _uniform(b, shear, generator, device)
    cos, sin = torch.cos(angle), torch.sin(angle)
    m = torch.empty(b, 2, 2, device=device)
    m[:, 0, 0], m[:, 0, 1] = cos / sx, (-sin + shx * cos) / sx
    m[:, 1, 0], m[:, 1, 1] = sin / sy, (cos + shx * sin) / sy
    return m


def _warp(x: torch.Tensor, displacement: torch.Tensor | None, matrix: torch.Tensor | None) -> torch.Tensor:
    """One bilinear resampling: output pixel p reads input at centre + M (p - centre) + displacement(p)."""
    b, _, h, w = x.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=torch.float32) - (h - 1) / 2,
                            torch.arange(w, device=x.device, dtype=torch.float32) - (w - 1) / 2, indexing="ij")
    px, py = xs.expand(b, h, w), ys.expand(b, h, w)
    if matrix is not None:
        m = matrix.view(b, 2, 2, 1, 1)
        px, py = m[:, 0, 0] * px + m[:, 0, 1] * py, m[:, 1, 0] * px + m[:, 1, 1] * py
    if displacement is not None:
        px, py = px + displacement[:, 0], py + displacement[:, 1]
    grid = torch.stack([px / ((w - 1) / 2), py / ((h - 1) / 2)], -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def slant(x: torch.Tensor, generator: torch.Generator | None = None, shear: float = 0.35) -> torch.Tensor:
    """Handwriting slant: a horizontal shear of up to `shear` (0.35 is about 19 degrees) either way."""
    return _warp(x, None, _affine_matrix(x.shape[0], generator, x.device, 0, 0, 0, shear))


def broken_strokes(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.3,
                   width: float = 1.0) -> torch.Tensor:
    """A pen that skips: for a fraction `p` of samples, wipe a band `width`-2x`width` pixels wide across the
    middle part of the image (at 28x28 scale; pass 2 for a 2x image)."""
    b, _, h, w = x.shape
    dev = x.device
    angle = torch.rand(b, generator=generator, device=dev) * math.pi
    offset = _uniform(b, h * 0.2, generator, dev)
    half = width * (0.3 + 0.3 * torch.rand(b, generator=generator, device=dev))
    ys, xs = torch.meshgrid(torch.arange(h, device=dev, dtype=torch.float32) - (h - 1) / 2,
                            torch.arange(w, device=dev, dtype=torch.float32) - (w - 1) / 2, indexing="ij")
    dist = (xs * torch.cos(angle).view(-1, 1, 1) + ys * torch.sin(angle).view(-1, 1, 1) - offset.view(-1, 1, 1)).abs()
    gap = (dist < half.view(-1, 1, 1)).unsqueeze(1)
    hit = (torch.rand(b, generator=generator, device=dev) < p).view(-1, 1, 1, 1)
    return torch.where(hit & gap, torch.zeros_like(x), x)


def renormalize(x: torch.Tensor, out_size: int = 28, box: float = 20.0, com: float = 14.0,
                ink: float = 0.1) -> torch.Tensor:
    """MNIST's framing, batched: (B, 1, H, W) -> (B, 1, out_size, out_size) with the ink's bounding box scaled to
    fit `box` pixels (aspect kept), the centre of mass at pixel `com`, peak ink 1 -- what canvas_to_digit does
    to a drawing. An input with no ink comes out empty."""
    b, _, h, w = x.shape
    dev = x.device
    mask = x[:, 0] > ink
    rows, cols = mask.any(2), mask.any(1)  # (B, H), (B, W)
    idx_h = torch.arange(h, device=dev, dtype=torch.float32)
    idx_w = torch.arange(w, device=dev, dtype=torch.float32)
    r0 = torch.where(rows, idx_h, 1e4).amin(1)
    r1 = torch.where(rows, idx_h, -1e4).amax(1)
    c0 = torch.where(cols, idx_w, 1e4).amin(1)
    c1 = torch.where(cols, idx_w, -1e4).amax(1)
    empty = ~rows.any(1)
    extent = (torch.maximum(r1 - r0, c1 - c0) + 1).clamp(min=1)
    scale = torch.where(empty, torch.ones_like(extent), box / extent)  # output px per input px
    src = x
    if (scale < 0.75).any():  # shrinking: average neighbours first, like an antialiased resize
        src = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        src = torch.where((scale < 0.75).view(-1, 1, 1, 1), src, x)
    mass = x[:, 0].clamp(min=0)
    total = mass.sum((1, 2)).clamp(min=1e-6)
    cy = (mass.sum(2) * idx_h).sum(1) / total
    cx = (mass.sum(1) * idx_w).sum(1) / total
    o = torch.arange(out_size, device=dev, dtype=torch.float32) - com
    iy = o.view(1, -1, 1) / scale.view(-1, 1, 1) + cy.view(-1, 1, 1)  # (B, out, 1): input row for output row
    ix = o.view(1, 1, -1) / scale.view(-1, 1, 1) + cx.view(-1, 1, 1)
    grid = torch.stack([(ix / (w - 1) * 2 - 1).expand(b, out_size, out_size),
                        (iy / (h - 1) * 2 - 1).expand(b, out_size, out_size)], -1)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    out = (out / out.flatten(1).amax(1).clamp(min=1e-6).view(-1, 1, 1, 1)).clamp(0, 1)
    return torch.where(empty.view(-1, 1, 1, 1), torch.zeros_like(out), out)


def canvas_like(x: torch.Tensor, generator: torch.Generator | None = None,
                distortions=CANVAS_DISTORTIONS, affine: bool = True) -> torch.Tensor:
    """(B, 1, 28, 28) in [0, 1] -> the same digits as different people would draw them, framed as the app frames
    a drawing. `distortions`: any of CANVAS_DISTORTIONS; `affine`: small rotation, scale and squeeze."""
    unknown = set(distortions) - set(CANVAS_DISTORTIONS)
    if unknown:
        raise ValueError(f"unknown distortions {sorted(unknown)}; choose from {', '.join(CANVAS_DISTORTIONS)}")
    b, dev = x.shape[0], x.device
    big = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # (B, 1, 56, 56)
    matrix = _affine_matrix(b, generator, dev, shear=0.35 if "slant" in distortions else 0.0,
                            **({} if affine else dict(rotation=0, scale=0, squeeze=0)))
    disp = None
    if "elastic" in distortions:  # the field at 28x28 (Simard's scale), then doubled for the 2x image
        disp = 2 * F.interpolate(elastic_field(b, 28, 28, generator, dev), size=big.shape[-2:], mode="bilinear",
                                 align_corners=False)
    big = _warp(big, disp, matrix)
    if "stroke" in distortions:
        big = stroke_width(big, generator)
    if "broken" in distortions:
        big = broken_strokes(big, generator, width=2.0)
    return renormalize(big)


# Named settings for --augment (TrainConfig.affine). "paper": the 1998 paper's planar affine distortions,
# translation, scaling, squeezing and horizontal shear, with no rotation (the studio default adds +-10 deg).
AFFINE_PRESETS = {"studio": {}, "paper": {"rotation": 0.0}}
