"""The core (`lenet/`) never imports Gradio: it must run in a script, a notebook or a GPU worker without it.
Only `ui/` (the tabs, beside app.py) does."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import lenet

ROOT = Path(__file__).resolve().parents[1]


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(lenet.__path__, "lenet."))


def test_importing_every_core_module_pulls_in_no_gradio():
    modules = core_modules()
    assert "lenet.net.model" in modules and "lenet.present.draw_view" in modules and "lenet.train" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m == 'gradio' or m.startswith('gradio.'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the core imported {out.stdout.strip()}"


def test_no_file_in_the_core_names_gradio():
    """Not even a lazy import inside a function: the source of every core module is free of it."""
    named = [str(p.relative_to(ROOT)) for p in (ROOT / "lenet").rglob("*.py")
             if "import gradio" in p.read_text() or "from gradio" in p.read_text()]
    assert named == []
