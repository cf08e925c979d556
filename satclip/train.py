"""Lightning training of SatCLIP: ``fit(config)`` is what ``satclip train`` calls.

Frozen image encoders (rcf, backbones) run once over the data and their features are cached, so
an epoch costs only the location encoder, the projection head and the logits. Trainable encoders
(``cnn``, or ``train.cache_features: false``) see pixels every step. Every epoch writes
``<run>/checkpoints/last.ckpt`` atomically; ``resume=True`` continues from it, and per-epoch seeding
makes the resumed run identical to an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.utils.data import DataLoader

from satclip.cache import atomic_path
from satclip.checkpoints import verify_checkpoint_archive
from satclip.configs.schema import TrainConfig, TrainingConfig
from satclip.data.loaders import FeatureBatches, ImageItems, ShardedBatchSampler, jitter_lonlat, normalise_features
from satclip.image.factory import FROZEN, build_image_encoder
from satclip.model import SatCLIP, clip_loss, parameter_groups, retrieval_metrics, soft_targets_from_features
from satclip.nn.location_encoder import LocationEncoderConfig
from satclip.train_logs import ResumableCSVLogger, RunClock, resume_state


class _NoLightningAdverts(logging.Filter):
    """Drops Lightning's "💡 Tip" adverts for its cloud services: noise in every run, and unreachable offline."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def _quiet_lightning() -> None:
    """Install :class:`_NoLightningAdverts` on Lightning's rank-zero logger (once)."""
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoLightningAdverts) for f in log.filters):
        log.addFilter(_NoLightningAdverts())


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoints written to a temporary file and renamed: a kill never leaves a torn file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


class EpochCheckpoint(pl.Callback):
    """Saves ``last.ckpt`` at the end of every training epoch."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)  # full state (optimizer, loops) for --resume


class SatCLIPModule(pl.LightningModule):
    """Lightning wrapper: batches are (image or features, lonlat, index)."""

    def __init__(self, config: dict[str, Any], image_dim: int, channels: int) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config, "image_dim": image_dim, "channels": channels})
        self.cfg = config
        self.tcfg = TrainConfig.from_dict(config.get("train"))
        enc_spec = config.get("image_encoder", {"name": "rcf"})
        encoder = None
        if not uses_cached_features(config):
            encoder = build_image_encoder(enc_spec, channels)
            image_dim = encoder.out_dim
        self.model = SatCLIP(LocationEncoderConfig.from_dict(config.get("location_encoder") or {}), image_dim, encoder)
        self.val_labels: dict[str, np.ndarray] = {}
        self._val_outputs: list[tuple[torch.Tensor, ...]] = []
        self.last_metrics: dict[str, float] = {}

    def on_train_epoch_start(self) -> None:
        # per-epoch seeding (dropout, jitter): a resumed run repeats an uninterrupted one exactly
        torch.manual_seed(int(self.cfg.get("seed", 0)) * 100_003 + self.current_epoch * 1_009 + self.global_rank)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, lonlat, _ = batch
        lonlat = jitter_lonlat(lonlat, float(self.tcfg.jitter_deg))
        feats = self.model.image_features(x)
        img = self.model.image_head(feats)
        loc = self.model.encode_location(lonlat)
        soft = None
        if self.tcfg.soft_targets > 0:
            soft = soft_targets_from_features(feats.detach(), float(self.tcfg.soft_targets))
        loss = clip_loss(img, loc, self.model.temperature_scale(), soft)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/temperature", self.model.temperature_scale())
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        x, lonlat, idx = batch
        feats = self.model.image_features(x)
        img, loc = self.model.image_head(feats), self.model.encode_location(lonlat)
        self._val_outputs.append((idx, img.float(), loc.float(), feats.float(), lonlat.double()))

    def on_validation_epoch_end(self) -> None:
        cols = [torch.cat(c) for c in zip(*self._val_outputs, strict=True)]
        self._val_outputs.clear()
        if self.trainer.world_size > 1:
            # all_gather of a tensor is a tensor (Lightning types the result as any collection it accepts)
            cols = [cast(torch.Tensor, self.all_gather(c)).flatten(0, 1) for c in cols]
        idx, img, loc, feats, points = (c.cpu() for c in cols)
        _, first = np.unique(idx.numpy(), return_index=True)  # padding repeats some points
        idx, img, loc, feats, lonlat = idx[first], img[first], loc[first], feats[first], points[first].numpy()
        metrics = {"val/loss": float(clip_loss(img, loc, self.model.temperature_scale().detach().cpu().float()))}
        metrics.update({f"val/{k}": v for k, v in retrieval_metrics(img, loc, lonlat).items()})
        kind = self.val_labels.get("kind")
        if kind is not None and (kind[idx.numpy()] == 0).sum() > 10:
            land = torch.from_numpy(kind[idx.numpy()] == 0)
            land_m = retrieval_metrics(img[land], loc[land], lonlat[land.numpy()])
            metrics.update({f"val_land/{k}": v for k, v in land_m.items()})
        every = int(self.tcfg.transfer_every)
        last = self.current_epoch + 1 >= int(self.tcfg.max_epochs)
        if "proxy" in self.val_labels and every > 0 and ((self.current_epoch + 1) % every == 0 or last):
            metrics.update(self.transfer(loc.numpy(), feats.numpy(), idx.numpy(), lonlat))
        self.last_metrics = {**metrics, "epoch": self.current_epoch}
        self.log_dict(metrics, prog_bar=False, sync_dist=False)
        self.log("val/top10", metrics["val/img2loc_top10"], prog_bar=True)

    def transfer(self, loc: np.ndarray, feats: np.ndarray, idx: np.ndarray, lonlat: np.ndarray, **kw: Any) -> dict:
        """Continent hold-out probes of the proxy classes, land-only points (see satclip.data.proxy)."""
        from satclip.data.proxy import transfer_scores

        land = self.val_labels["kind"][idx] == 0 if "kind" in self.val_labels else np.ones(len(idx), bool)
        s = transfer_scores(loc[land], feats[land], self.val_labels["proxy"][idx][land], lonlat[land], **kw)
        return {f"transfer/{k}": v for k, v in s.items()}

    def configure_optimizers(self) -> Any:
        lr = float(self.tcfg.lr)
        groups = parameter_groups(self.model, float(self.tcfg.weight_decay))
        scale = self.tcfg.first_layer_lr_scale
        fan_in = self.model.location.config.L**2
        scale = min(1.0, 100.0 / fan_in) if scale == "auto" else float(scale)
        if scale != 1.0:  # SIREN's first layer starts at U(+-1/fan_in): keep Adam's relative step as at L=10
            first = {id(p) for p in self.model.location.nnet.layers[0].parameters()}
            groups = [
                {
                    **g,
                    "params": [p for p in g["params"] if (id(p) in first) == is_first],
                    "lr": lr * (scale if is_first else 1),
                }
                for g in groups
                for is_first in (False, True)
            ]
        opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr)
        if self.tcfg.schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(self.tcfg.max_epochs))
            return {"optimizer": opt, "lr_scheduler": sched}
        if self.tcfg.schedule != "none":
            raise ValueError(f"unknown train.schedule {self.tcfg.schedule!r}; choose none or cosine")
        return opt


def uses_cached_features(config: dict[str, Any]) -> bool:
    name = (config.get("image_encoder") or {}).get("name", "rcf")
    return name in FROZEN and TrainConfig.from_dict(config.get("train")).cache_features


class SatCLIPData(pl.LightningDataModule):
    """Dataset, cached features, train/validation split (seeded) and proxy labels for the transfer check."""

    def __init__(self, config: dict[str, Any], progress: bool = True) -> None:
        super().__init__()
        from satclip.data.features import cached_features
        from satclip.data.image_datasets import build_dataset

        self.cfg, self.tcfg = config, TrainConfig.from_dict(config.get("train"))
        self.dataset = build_dataset({"progress": progress, **config.get("data", {})})
        n = len(self.dataset)
        rng = np.random.default_rng(int(config.get("seed", 0)))
        perm = rng.permutation(n)
        n_val = int(min(self.tcfg.val_size, n // 5)) if self.tcfg.val_size else 0
        self.val_idx, self.train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        self.lonlat = torch.from_numpy(np.asarray(self.dataset.lonlat, dtype=np.float32))
        self.features: torch.Tensor | None = None
        self.feature_info: dict[str, Any] = {}
        if uses_cached_features(config):
            raw, self.feature_info = cached_features(
                self.dataset, config.get("image_encoder", {"name": "rcf"}), progress=progress
            )
            self.features = torch.from_numpy(normalise_features(raw, self.train_idx, self.tcfg.feature_norm))
        self.labels: dict[str, np.ndarray] = {}
        arrays = getattr(self.dataset, "arrays", None)
        if arrays is not None:
            from satclip.data.landmask import KIND_NAMES
            from satclip.data.proxy import centre_colour, colour_classes

            self.labels["kind"] = np.asarray(arrays.kind)
            if self.tcfg.train_kinds:  # e.g. [land]: train on a subset of the mix, validate on all of it
                keep = [KIND_NAMES.index(k) for k in self.tcfg.train_kinds]
                self.train_idx = self.train_idx[np.isin(self.labels["kind"][self.train_idx], keep)]
            self.labels["proxy"] = colour_classes(centre_colour(arrays.patches), int(self.tcfg.proxy_classes))

    @property
    def image_dim(self) -> int:
        return 0 if self.features is None else int(self.features.shape[1])

    def _loader(self, idx: np.ndarray, train: bool) -> DataLoader:
        t = self.trainer
        rank, world = (t.global_rank, t.world_size) if t is not None else (0, 1)
        bs = int(self.tcfg.batch_size if train else self.tcfg.val_batch_size)
        sampler = ShardedBatchSampler(
            idx,
            bs,
            shuffle=train,
            seed=int(self.cfg.get("seed", 0)),
            drop_last=train,
            rank=rank,
            world_size=world,
            epoch_fn=(lambda: t.current_epoch) if t is not None else None,
        )
        # own generator: creating the iterator must not draw from the global RNG that dropout and jitter use
        gen = torch.Generator().manual_seed(int(self.cfg.get("seed", 0)))
        if self.features is not None:
            return DataLoader(
                FeatureBatches(self.features, self.lonlat), sampler=sampler, batch_size=None, generator=gen
            )
        return DataLoader(
            ImageItems(self.dataset, self.lonlat),
            batch_sampler=sampler,
            num_workers=int(self.tcfg.num_workers),
            generator=gen,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_idx, True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_idx, False)


@dataclass
class FitResult:
    """What :func:`fit` returns: where the run is, how it went, and the trained objects."""

    config: TrainingConfig  # the checked config, defaults filled in
    run_dir: Path
    checkpoint: Path  # <run_dir>/checkpoints/last.ckpt
    metrics: dict[str, float]  # last validation metrics (val/..., transfer/...)
    wall_time_s: float
    epochs: int
    accelerator: str
    module: SatCLIPModule
    data: SatCLIPData
    is_global_zero: bool  # False on the other ranks of a multi-process run
    samples_per_epoch: int


def fit(
    config: dict[str, Any] | TrainingConfig,
    *,
    resume: bool = False,
    callbacks: list[pl.Callback] | None = None,
    progress: bool | None = None,
) -> FitResult:
    """Train a location encoder.

    Args:
        config: a config dict as read from YAML (checked by :meth:`TrainingConfig.from_dict`) or a
            :class:`TrainingConfig`.
        resume: continue from ``<output.dir>/checkpoints/last.ckpt``.
        callbacks: extra Lightning callbacks.
        progress: progress bars (default: ``train.progress``).

    Returns:
        A :class:`FitResult`: run folder, checkpoint, final metrics, the trained module and data.

    Raises:
        ConfigError: an unknown key or bad value in the config, named by its path (``train.max_epoch``).
        FileNotFoundError: ``resume`` without a checkpoint. FileExistsError: a checkpoint exists and not ``resume``.
    """
    t0 = time.perf_counter()
    typed = config if isinstance(config, TrainingConfig) else TrainingConfig.from_dict(config)
    config = typed.to_dict()  # plain and fully resolved: what the checkpoint and the model card store
    tcfg = typed.train
    progress = bool(tcfg.progress) if progress is None else progress
    run_dir = Path(typed.run_dir)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if resume and not ckpt.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {ckpt}; start without --resume")
    if resume:
        verify_checkpoint_archive(ckpt)  # a truncated last.ckpt: one clear error, not a traceback from Lightning
    if not resume and ckpt.is_file():
        raise FileExistsError(f"{ckpt} exists: pass --resume to continue that run, or choose another output.dir")
    pl.seed_everything(typed.seed, workers=True, verbose=False)
    data = SatCLIPData(config, progress=progress)
    module = SatCLIPModule(config, data.image_dim, int(data.dataset.channels))
    module.val_labels = {k: v for k, v in data.labels.items()}
    previous = resume_state(ckpt, run_dir / "logs") if resume else {}
    clock = RunClock(t0, previous.get("wall_time_s", 0.0))
    version = previous.get("log_version")  # a resumed run continues its own log, without the killed epoch's rows
    loggers: list[Any] = [ResumableCSVLogger(str(run_dir), "logs", version, previous.get("epoch") if resume else None)]
    try:
        import tensorboard  # noqa: F401

        loggers.append(pl.loggers.TensorBoardLogger(str(run_dir), name="tb", version=version))
    except ImportError:
        pass
    max_time = timedelta(seconds=float(tcfg.max_time_s)) if tcfg.max_time_s else None
    _quiet_lightning()
    trainer = pl.Trainer(
        accelerator=tcfg.accelerator,
        devices=tcfg.devices,
        strategy=tcfg.strategy,
        precision=tcfg.precision,  # type: ignore[arg-type]  # a config str; Lightning checks it against its Literal
        max_epochs=int(tcfg.max_epochs),
        max_time=max_time,
        logger=loggers,
        callbacks=[clock, EpochCheckpoint(ckpt), *(callbacks or [])],
        plugins=[AtomicCheckpointIO()],
        enable_checkpointing=False,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        log_every_n_steps=int(tcfg.log_every_n_steps),
        check_val_every_n_epoch=int(tcfg.val_every),
        enable_progress_bar=progress,
        enable_model_summary=progress,
        default_root_dir=str(run_dir),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(sync_dist|does not have many workers|num_workers|LeafSpec).*")
        trainer.fit(module, datamodule=data, ckpt_path=str(ckpt) if resume else None, weights_only=True)
    wall = clock.elapsed(time.perf_counter())  # every segment of a resumed run, each up to its last checkpoint
    return FitResult(
        config=typed,
        run_dir=run_dir,
        checkpoint=ckpt,
        metrics=module.last_metrics,
        wall_time_s=wall,
        epochs=trainer.current_epoch,
        accelerator=type(trainer.accelerator).__name__,
        module=module,
        data=data,
        is_global_zero=trainer.is_global_zero,
        samples_per_epoch=len(data.train_idx) // max(1, trainer.world_size) * max(1, trainer.world_size),
    )


def learning_curve_ok(metrics_csv: Path) -> bool:
    """True when the logged training loss went down from the first to the last logged value."""
    import pandas as pd

    df = pd.read_csv(metrics_csv)
    loss = df["train/loss"].dropna().to_numpy()
    return len(loss) >= 2 and math.isfinite(loss[-1]) and loss[-1] < loss[0]
