"""Facts about the machine a run happens on: versions, devices, hardware.

Used by ``xinpaint info``, the chapter banners and the status page.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from importlib import metadata

__all__ = ["cpu_model", "hardware_description", "package_versions", "visible_gpus"]

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


def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow can see (empty on a CPU-only machine)."""
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
