"""Device choice (cuda -> mps -> cpu, overridable by name) and the fast path for training on it."""
import os

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


PRECISIONS = ("auto", "fp32", "bf16")
# LENET_PRECISION=fp32|bf16 decides what "auto" means (the default everywhere: CLI, Train tab, tests), e.g. to
# run the suite as a CPU without native bfloat16 would (.ci/run does, with ATEN_CPU_CAPABILITY=avx2
# ONEDNN_MAX_CPU_ISA=AVX2). Unset, empty or "auto": the CPU decides. An explicit fp32/bf16 setting wins over it.
PRECISION_ENV = "LENET_PRECISION"


def precision_override() -> str:
    """LENET_PRECISION's value ("auto" when unset or empty); anything but auto/fp32/bf16 is an error."""
    value = os.environ.get(PRECISION_ENV, "").strip().lower() or "auto"
    if value not in PRECISIONS:
        raise ValueError(f"{PRECISION_ENV} must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return value


class FastPath:
    """How training runs on the device: memory layout and autocast. Values, not architecture, are all it
    touches: the model keeps its layers, and its weights stay float32 (autocast computes in bfloat16)."""

    def __init__(self, device: torch.device, bf16: bool, channels_last: bool):
        self.device, self.bf16, self.channels_last = device, bf16, channels_last
        self.name = "bf16 autocast" if bf16 else "fp32"

    def prepare(self, model: torch.nn.Module) -> None:
        if self.channels_last:  # oneDNN's convolutions run faster on NHWC tensors
            model.to(memory_format=torch.channels_last)

    def restore(self, model: torch.nn.Module) -> None:
        if self.channels_last:
            model.to(memory_format=torch.contiguous_format)

    def input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 / AMX: bfloat16 convolutions and matmuls faster than float32 (elsewhere they are emulated)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def fast_path(device: torch.device, precision: str, model_config) -> FastPath:
    """The measured fastest way to train on this device (bench/training/epoch_speed.py): on CPU, channels-last,
    plus bfloat16 autocast where it is native. RBF outputs (squared distances to +-1 prototypes,
    summed over 84 units) keep float32: "auto" never trades their precision. "auto" follows LENET_PRECISION
    when it is set (precision_override)."""
    if precision == "auto":
        precision = precision_override()
        if precision == "bf16" and model_config.output == "rbf":
            precision = "fp32"  # RBF outputs keep float32 unless bf16 is asked of that very run
    if device.type != "cpu":
        return FastPath(device, precision == "bf16", channels_last=False)
    native = cpu_has_native_bf16()
    bf16 = precision == "bf16" or (precision == "auto" and native and model_config.output != "rbf")
    return FastPath(device, bf16, channels_last=True)
