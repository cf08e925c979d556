"""Parse a user's ``--device`` into a torch device that exists here, or one clear error."""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A device string torch does not know, or a device this machine does not have."""


def resolve_device(device: str | torch.device) -> torch.device:
    """``torch.device(device)``, refused with a one-line reason when it is unknown or unavailable."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown device {str(device)!r}; use cpu, cuda, cuda:N or mps") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {str(device)!r} requested but CUDA is not available here; use --device cpu")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise DeviceError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {str(device)!r} requested but MPS is not available here; use --device cpu")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {str(device)!r} is not supported for embedding; use cpu, cuda, cuda:N or mps")
    return parsed
