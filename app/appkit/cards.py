"""Model cards as people read them: the training record summarised in sentences (the raw record stays one
click away)."""

from __future__ import annotations

from typing import Any

IMAGERY_NAMES = {"bmng.jpg": "NASA Blue Marble Next Generation (bmng.jpg)"}
IMAGE_ENCODER_NAMES = {"rcf": "random convolutional features (RCF)"}


def training_summary(training: Any) -> list[str]:
    """Markdown bullet lines saying what a model was trained on and how, from a card's ``training`` record
    (as ``satclip train`` writes it). Keys that are missing are left out; an unknown layout gives []."""
    if not isinstance(training, dict):
        return []
    lines = []
    data = training.get("data") if isinstance(training.get("data"), dict) else {}
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    image = data.get("image") or spec.get("source")
    if image:
        lines.append(f"**Imagery:** {IMAGERY_NAMES.get(str(image), image)}")
    counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
    if spec.get("n"):
        size = f" of {spec['patch_size']} x {spec['patch_size']} px" if spec.get("patch_size") else ""
        deg = f" ({data['patch_deg']:.2f} deg across)" if isinstance(data.get("patch_deg"), int | float) else ""
        mix = ", ".join(f"{v:,} {k}" for k, v in counts.items() if isinstance(v, int))
        lines.append(f"**Patches:** {spec['n']:,}{size}{deg}" + (f": {mix}" if mix else ""))
    encoder = data.get("image_encoder") if isinstance(data.get("image_encoder"), dict) else {}
    if encoder.get("name"):
        extra = f", {encoder['n_filters']} filters" if encoder.get("n_filters") else ""
        name = IMAGE_ENCODER_NAMES.get(str(encoder["name"]), encoder["name"])
        lines.append(f"**Image features:** {name}{extra}")
    run = []
    if training.get("epochs"):
        run.append(f"{training['epochs']} epochs")
    if training.get("n_samples"):
        held = f" ({training['n_val']:,} more held out for validation)" if training.get("n_val") else ""
        run.append(f"{training['n_samples']:,} training samples{held}")
    if isinstance(training.get("wall_time_s"), int | float):
        run.append(f"{training['wall_time_s'] / 60:.1f} min")
    if training.get("machine"):
        run.append(f"on {training['machine']}")
    if run:
        lines.append("**Run:** " + ", ".join(run))
    if training.get("command"):
        lines.append(f"**Command:** `{training['command']}`")
    return lines
