"""Device choice: cuda -> mps -> cpu, overridable by name."""
import torch


def available_devices() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        for candidate in ("cuda", "mps"):
            if candidate in available_devices():
                return torch.device(candidate)
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, got {name!r}")
    if name not in available_devices():
        raise ValueError(f"device {name!r} was asked for but is not available here; use 'auto' or 'cpu'")
    return torch.device(name)
