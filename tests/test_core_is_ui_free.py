"""The core (`lenet/`) never imports Gradio: it must run in a script, a notebook or a GPU worker without it.
Only `lenet.ui` (the tabs) does."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import lenet

ROOT = Path(__file__).resolve().parents[1]


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(lenet.__path__, "lenet.")
                  if not (m.name == "lenet.ui" and not m.ispkg) and not m.name.startswith("lenet.ui."))


def test_importing_every_core_module_pulls_in_no_gradio():
    modules = core_modules()
    assert "lenet.net.model" in modules and "lenet.present.draw_view" in modules and "lenet.ui.draw" not in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m == 'gradio' or m.startswith('gradio.'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the core imported {out.stdout.strip()}"
