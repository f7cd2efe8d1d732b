"""Facts about the machine a run happens on: versions, devices, hardware.

Used by ``xinpaint info``, the chapter banners and the status page.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["cpu_model", "driver_gpus", "hardware_description", "package_versions", "visible_gpus"]

_PACKAGES = (
    "xinpaint",
    "tensorflow",
    "keras",
    "numpy",
    "scipy",
    "scikit-image",
    "itk-rtk",
    "nibabel",
    "pydicom",
    "opencv-python-headless",
    "matplotlib",
    "jupyter-book",
    "papermill",
)


def package_versions(packages=_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, or ``None`` where it is missing."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` where available)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def driver_gpus() -> list[str]:
    """Names of the NVIDIA GPUs the driver reports, without importing TensorFlow.

    Read from ``/proc/driver/nvidia/gpus/*/information`` where the driver exposes it,
    else from ``nvidia-smi -L``; empty where there is no NVIDIA driver. TensorFlow
    may still not use them (a CPU-only build, ``CUDA_VISIBLE_DEVICES``):
    :func:`visible_gpus` asks TensorFlow itself.
    """
    names = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Model:"):
                    names.append(line.split(":", 1)[1].strip())
        except OSError:
            continue
    if names:
        return names
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    for line in out.stdout.splitlines():  # "GPU 0: NVIDIA H200 (UUID: GPU-...)"
        if line.startswith("GPU ") and ":" in line:
            names.append(line.split(":", 1)[1].split("(UUID")[0].strip())
    return names


def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow can see (empty on a CPU-only machine).

    Imports TensorFlow (quietly, see :func:`xinpaint.chapter.quiet_tensorflow`);
    :func:`driver_gpus` answers without it.
    """
    from xinpaint.chapter import quiet_tensorflow

    quiet_tensorflow()
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
            names.append(details.get("device_name", device.name))
        except Exception:
            names.append(device.name)
    return names


def hardware_description(gpus: list[str] | None = None) -> str:
    """One line: the GPU names if any, else the CPU model and core count."""
    if gpus is None:
        gpus = visible_gpus()
    if gpus:
        return ", ".join(gpus)
    return f"{cpu_model()} ({os.cpu_count()} cores, no GPU)"
