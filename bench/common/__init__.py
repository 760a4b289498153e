"""Shared bits for the benchmark scripts: repo on sys.path, real digit canvases, app processes, percentiles."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def canvas_png(folder: Path, index: int = 0, size: int = 280) -> tuple[Path, int]:
    """A real MNIST test digit (bundled sample) drawn black on white at canvas scale; returns (path, label)."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from lenet.sources.data import load_split

    split = load_split("mnist-sample", train=False)
    x = split.images[index].float()[None, None] / 255
    big = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    img = (255 - big.clamp(0, 1).mul(255)).to(torch.uint8).numpy()
    path = Path(folder) / f"digit-{index}.png"
    Image.fromarray(img).save(path)
    return path, int(split.labels[index])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, env: dict | None = None, cmd: list | None = None,
              stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """`python app.py` (or `cmd`) in its own process, as a user starts it (`stderr=subprocess.PIPE` to read it)."""
    return subprocess.Popen(cmd or [sys.executable, "app.py"], cwd=ROOT,
                            env={**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                                 **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True)


def wait_for_client(url: str, timeout: float = 120.0):
    from gradio_client import Client

    deadline = time.time() + timeout
    while True:
        try:
            return Client(url, verbose=False)
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory in MB now (VmRSS), or its peak so far (field="VmHWM")."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values, *qs) -> list[float]:
    return [float(np.percentile(values, q)) for q in qs]


def ms(values) -> str:
    p50, p99 = pct(np.asarray(values) * 1000, 50, 99)
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   (n={len(values)})"


class ApiClient:
    """One visitor's script on Gradio's documented HTTP API: upload the PNG, POST /gradio_api/call/predict,
    read the answer. Its own connection and, like gradio_client, its own session (with session=False
    every call starts a new one, as with curl)."""

    def __init__(self, url: str, png: bytes, session: bool = True, endpoint: str = "predict"):
        self.url, self.png, self.session = url.rstrip("/"), png, uuid.uuid4().hex if session else None
        self.endpoint = endpoint  # "predict" or "read": both take one canvas
        self.http = httpx.AsyncClient(timeout=300)

    async def predict(self) -> None:
        up = await self.http.post(f"{self.url}/gradio_api/upload", files={"files": ("digit.png", self.png, "image/png")})
        up.raise_for_status()
        canvas = {"background": None, "layers": [], "composite": {"path": up.json()[0], "meta": {"_type": "gradio.FileData"}}}
        r = await self.http.post(f"{self.url}/gradio_api/call/{self.endpoint}",
                                 json={"data": [canvas], "session_hash": self.session})
        r.raise_for_status()
        answer = await self.http.get(f"{self.url}/gradio_api/call/{self.endpoint}/{r.json()['event_id']}")
        if "event: complete" not in answer.text:
            raise RuntimeError(answer.text[:200])

    async def run(self, calls: int, latencies: list, errors: list, interval: float = 0.0, offset: float = 0.0):
        await asyncio.sleep(offset)
        start = time.perf_counter()
        for k in range(calls):
            if interval:  # paced: the k-th call is due at start + k * interval (at once when running late)
                await asyncio.sleep(max(0.0, start + k * interval - time.perf_counter()))
            t = time.perf_counter()
            try:
                await self.predict()
                latencies.append(time.perf_counter() - t)
            except Exception as e:  # counted, not raised: the figure is the error count
                errors.append(repr(e)[:200])
        await self.http.aclose()


def bench_dataset() -> str:
    """What the benchmarks train on: full MNIST when LENET_DATA_DIR points at it, else the bundled sample."""
    return "mnist" if os.environ.get("LENET_DATA_DIR") else "mnist-sample"


def start_training_visitor(url: str, epochs: int = 500):
    """Another visitor starts a long run on the app at `url` (full MNIST when LENET_DATA_DIR is set, else the
    bundled sample) and it is streaming: returns (its client, the job, the dataset). Cancel the job and close
    the client when done."""
    client = wait_for_client(url)
    dataset = bench_dataset()
    job = client.submit(dataset=dataset, epochs=epochs, api_name="/train")
    t0 = time.time()
    while len(job.outputs()) < 3 and time.time() - t0 < 120:
        time.sleep(0.2)
    return client, job, dataset


def machine(precision: str | None = None) -> str:
    """The CPU class a timing was measured on, for every figure: model, cores, threads, the ISA ATen's kernels
    use (and oneDNN's cap when ONEDNN_MAX_CPU_ISA restricts it), native bfloat16 or not, and the precision the
    run trained in. E.g. "AMD EPYC, 2 cores, 2 threads, ATen AVX2 (oneDNN capped at AVX2: emulated), no native
    bf16 (emulated), fp32"."""
    import torch

    from lenet.training.device import cpu_has_native_bf16

    name = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    aten = os.environ.get("ATEN_CPU_CAPABILITY")
    mkl = os.environ.get("MKL_ENABLE_INSTRUCTIONS")  # MKL (the matmuls: linear layers, the peak) has its own cap
    isa = f"ATen {torch.backends.cpu.get_cpu_capability()}"
    if cap or aten or mkl:
        isa += (f" (restricted: ATEN_CPU_CAPABILITY={aten or '-'}, ONEDNN_MAX_CPU_ISA={cap or '-'}, "
                f"MKL_ENABLE_INSTRUCTIONS={mkl or '-'}; emulating a smaller CPU)")
    bf16 = "native bf16" if cpu_has_native_bf16() else "no native bf16"
    out = f"{name}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, {isa}, {bf16}"
    return out + (f", trained in {precision}" if precision else "")
