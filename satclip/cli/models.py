"""CLI commands ``satclip models`` (bundled, downloaded and downloadable models) and ``satclip download``
(released SatCLIP models, on request only); ``register(app)`` adds them to the typer app."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from satclip.cli.common import needs_extra, user_errors

_HEADLINE_KEYS = ("img2loc_top1", "img2loc_top10", "median_km", "transfer_ratio")


def model_listing() -> dict[str, dict[str, Any]]:
    """Every model ``satclip`` knows, by name: its card (or registry facts when not on disk) plus ``status``
    (bundled, missing, downloaded, downloadable), ``size_bytes`` (on disk, or after download) and ``path``."""
    from satclip.checkpoints import read_card
    from satclip.registry import BUNDLED, RELEASED

    out: dict[str, dict[str, Any]] = {}
    for name, entry in sorted(BUNDLED.items()):
        if entry.path.is_file():
            out[name] = {
                **read_card(entry.path),
                "status": "bundled",
                "size_bytes": entry.path.stat().st_size,
                "path": str(entry.path),
            }
        else:
            out[name] = {"name": name, "missing": True, "status": "missing", "size_bytes": None, "path": None}
    for name, rel in RELEASED.items():
        facts = {
            "repo_id": rel.repo_id,
            "filename": rel.filename,
            "revision": rel.revision,
            "revision_pinned": rel.pinned,
            "image_encoder": rel.image_encoder,
            "L": rel.L,
            "download_command": rel.download_command,
        }
        if rel.path.is_file():
            out[name] = {
                **read_card(rel.path),
                **facts,
                "status": "downloaded",
                "size_bytes": rel.path.stat().st_size,
                "path": str(rel.path),
            }
        else:
            out[name] = {
                "name": name,
                **facts,
                "status": "downloadable",
                "size_bytes": rel.converted_bytes,
                "path": None,
                "config": {"L": rel.L, "embed_dim": rel.embed_dim, "hidden_dim": rel.hidden_dim},
            }
    return out


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f} MB"


@user_errors
def models_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full model cards as JSON.")] = False,
) -> None:
    """List the bundled models, and the released SatCLIP models (downloaded or downloadable), with size and status."""
    from satclip.registry import BUNDLED, RELEASED

    listing = model_listing()
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    typer.echo("Bundled models (inside the package, work offline):")
    for name in BUNDLED:
        card = listing[name]
        if card["status"] == "missing":
            typer.echo(f"{name}  (file missing from this installation)")
            continue
        cfg = card.get("config", {})
        typer.echo(
            f"{name}  L={cfg.get('L')} dim={cfg.get('embed_dim')} hidden={cfg.get('hidden_dim')}  "
            f"{_mb(card['size_bytes'])}  bundled"
        )
        typer.echo(f"    {BUNDLED[name].summary}")
        typer.echo(f"    training: {_training_summary(card.get('training') or {})}")
        command = (card.get("training") or {}).get("command")
        if command:
            typer.echo(f"    reproduce: {command}")
        for key, value in _headline_metrics(card.get("metrics") or {}).items():
            typer.echo(f"    {key}: {value}")
    typer.echo(
        "\nReleased SatCLIP models (Klemmer et al., AAAI 2025; trained on S2-100K; MIT licence). "
        "Downloaded only when you ask:"
    )
    for name, rel in RELEASED.items():
        card = listing[name]
        if card["status"] == "downloaded":
            commit = str((card.get("provenance") or {}).get("commit", "?"))[:12]
            status = f"{_mb(card['size_bytes'])}  downloaded ({rel.repo_id}@{commit}) {card['path']}"
        else:
            status = f"{_mb(card['size_bytes'])} once downloaded  not downloaded: {rel.download_command}"
        typer.echo(f"{name}  L={rel.L} dim={rel.embed_dim} hidden={rel.hidden_dim}  {status}")
        typer.echo(
            f"    image encoder {rel.image_encoder}; source {rel.url} at "
            f"{rel.revision if rel.pinned else 'main (no commit pinned)'}"
        )
    typer.echo(
        "A download fetches the original checkpoint (57-130 MB with image encoder and optimizer state), keeps "
        "the location encoder and deletes the original unless --keep-original."
    )
    typer.echo("Full cards: satclip models --json")


def _training_summary(training: dict) -> str:
    """One line: data source, number of patches and their mix, image encoder, wall time."""
    if isinstance(training.get("data"), dict):
        training = {**training, **training["data"]}
    elif "data" in training:
        return str(training["data"])
    spec, counts = training.get("spec") or {}, training.get("counts") or {}
    parts = [str(training.get("image", spec.get("source", "?")))]
    if spec.get("n"):
        mix = ", ".join(f"{k} {v}" for k, v in counts.items())
        parts.append(f"{spec['n']} patches" + (f" ({mix})" if mix else ""))
    if isinstance(training.get("image_encoder"), dict):
        parts.append(f"image encoder {training['image_encoder'].get('name')}")
    if training.get("wall_time_s"):
        parts.append(f"{float(training['wall_time_s']) / 60:.0f} min")
    return "; ".join(parts)


def _headline_metrics(metrics: dict) -> dict[str, str]:
    """The few numbers worth a glance (retrieval, geolocation, transfer), formatted compactly."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            picked = {k: v for k, v in value.items() if k in _HEADLINE_KEYS and isinstance(v, int | float)}
            if picked:
                out[name] = ", ".join(f"{k} {v:.3g}" for k, v in picked.items())
        elif isinstance(value, int | float):
            out[name] = f"{value:.4g}"
    return out


@needs_extra("hub")
def download_command(
    names: Annotated[
        list[str],
        typer.Argument(metavar="NAMES", help="Released model names, e.g. satclip-vit16-l40 (satclip models)."),
    ],
    keep_original: Annotated[
        bool,
        typer.Option(
            help="Keep the original checkpoint in the Hugging Face cache (deleted by default after conversion)."
        ),
    ] = False,
    force: Annotated[bool, typer.Option(help="Download and convert again even if the model is on disk.")] = False,
) -> None:
    """Download released SatCLIP models from the Hugging Face Hub (needs pip install 'satclip[hub]'); keeps the
    location encoder as a model file under the satclip cache. HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE apply."""
    from satclip.hub import download, entry_for

    for name in names:
        entry_for(name)  # every name checked before anything is fetched
    for name in names:
        result = download(name, keep_original=keep_original, force=force)
        if not result.fetched:
            typer.echo(f"{name}: already downloaded ({result.path}); nothing fetched")
            continue
        kept = f"original kept at {result.original}" if result.original else "original deleted from the HF cache"
        source = f"{entry_for(name).repo_id}@{result.commit[:12]} (sha256 {result.sha256[:16]}...)"
        typer.echo(
            f"{name}: downloaded {source}, location encoder saved to {result.path} "
            f"({_mb(result.path.stat().st_size)}); {kept}"
        )


def register(app: typer.Typer) -> None:
    """Add ``models`` and ``download`` to the satclip typer app."""
    app.command("models", short_help="List bundled, downloaded and downloadable models.")(models_command)
    app.command("download", short_help="Download released SatCLIP models from the Hugging Face Hub.")(download_command)
