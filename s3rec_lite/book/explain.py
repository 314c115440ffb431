"""Small, pure helpers the book's chapters use to look inside the model and the objectives.

Nothing here trains a real model: these functions open the model up (attention weights), build one
pre-training batch for a chosen user (to draw what is masked or sampled), run a few pre-training steps
with a chosen subset of objectives (to show a loss falling), and run tiny pre-train + fine-tune
comparisons (chapter 21). They call the package's own code (``model``, ``batches``, ``train``); no
equation is re-implemented here except the explicit attention probabilities of Eq. 6, recomputed
from the model's own weights so that they can be drawn.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..batches import PretrainBatch, PretrainCorpus
from ..config import Config
from ..data import SequenceDataset
from ..model import S3RecModel, attention_mask
from ..train import active_objectives, build_model, finetune, pretrain_step, seed_everything
from .attention_lab import queries_keys  # every block's own queries and keys, [B, h, L, d/h] each


# ------------------------------------------------------------------------------------------------
# Attention weights (Eq. 6)
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def attention_weights(model: S3RecModel, item_ids: torch.Tensor, causal: bool) -> list[torch.Tensor]:
    """The attention probabilities softmax(Q K^T / sqrt(d/h) + mask) of every block, in eval mode.

    item_ids [B, L] -> a list with one tensor [B, h, L, L] per block (row i: how much query position i
    attends to each key position j; rows sum to 1). The model's forward pass is unchanged: the
    probabilities are recomputed from each block's own W^Q and W^K on that block's input."""
    mask = attention_mask(item_ids, causal)  # [B, 1, L, L] or [B, 1, 1, L]
    return [torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask, dim=-1)  # [B, h, L, L]
            for q, k in queries_keys(model, item_ids, causal)]


# ------------------------------------------------------------------------------------------------
# One pre-training batch for chosen users (to draw masking, negatives, segments)
# ------------------------------------------------------------------------------------------------
def user_prefix_index(corpus: PretrainCorpus, users: list[int]) -> torch.Tensor:
    """Index (into ``corpus``) of the longest prefix of each given user, i.e. the user's whole
    pre-training part. Users are counted among those with a non-empty part, in order."""
    ends = torch.nonzero(corpus.prefix_len[1:] <= corpus.prefix_len[:-1]).flatten()  # last prefix of each but the final user
    last = torch.cat([ends, torch.tensor([len(corpus) - 1], device=ends.device)])
    return last[torch.as_tensor(users, device=last.device)]


def example_batch(ds: SequenceDataset, cfg: Config, users=(0,), seed: int = 0,
                  variant: str | None = None) -> PretrainBatch:
    """The pre-training batch (masking for MIP/MAP, negatives, the three SP views) built from the whole
    pre-training part of each user in ``users``, with a fixed seed. Exactly what ``pretrain`` would
    build for those prefixes (``PretrainCorpus.batch``)."""
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items)
    idx = user_prefix_index(corpus, list(users))
    seed_everything(seed)
    return corpus.batch(idx, cfg.mask_ratio, cfg.num_negatives, variant or cfg.objective_variant)


# ------------------------------------------------------------------------------------------------
# A few pre-training steps with a chosen subset of objectives
# ------------------------------------------------------------------------------------------------
def pretrain_steps(model: S3RecModel, ds: SequenceDataset, cfg: Config, steps: int, objectives=None,
                   batch_size: int | None = None, seed: int | None = None) -> dict[str, list[float]]:
    """Run ``steps`` pre-training steps (random batches of prefixes, Adam at ``cfg.pretrain_lr``) and
    return each step's losses: ``{"loss": [...], "<objective>": [...], ...}`` (unweighted per objective,
    "loss" is the weighted sum that is minimised).

    ``objectives``: names to train with (their ``cfg.loss_weights``, or 1.0 if that weight is 0); the
    other weights are set to 0. ``None`` keeps ``cfg.loss_weights`` as they are. The same batches,
    losses and update as :func:`s3rec_lite.train.pretrain`, only counted in steps instead of epochs."""
    if objectives is not None:
        weights = {k: 0.0 for k in cfg.loss_weights}
        for name in objectives:
            weights[name] = cfg.loss_weights.get(name) or 1.0
        cfg = cfg.replace(loss_weights=weights)
    weights = active_objectives(cfg)
    device = next(model.parameters()).device
    seed_everything(cfg.seed if seed is None else seed)
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items, device)
    attribute_matrix = torch.as_tensor(ds.attribute_matrix(), device=device).float()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.pretrain_lr, betas=tuple(cfg.adam_betas),
                           weight_decay=cfg.weight_decay)
    B = batch_size or cfg.pretrain_batch_size
    history: dict[str, list[float]] = {"loss": [], **{k: [] for k in weights}}
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(corpus), (min(B, len(corpus)),), device=device)
        total, losses = pretrain_step(model, corpus, idx, cfg, attribute_matrix, opt, weights)
        history["loss"].append(float(total))
        for k in weights:
            history[k].append(float(losses[k]))
    return history


# ------------------------------------------------------------------------------------------------
# Tiny pre-train + fine-tune comparisons (chapter 21)
# ------------------------------------------------------------------------------------------------
def tiny_run(ds: SequenceDataset, cfg: Config, pretrain_steps_n: int, finetune_epochs: int,
             objectives=None) -> dict:
    """Seed with ``cfg.seed``, build a model, pre-train for ``pretrain_steps_n`` steps (0: SASRec, no
    pre-training), fine-tune for at most ``finetune_epochs`` epochs; return the config's variant and seed,
    the last pre-training losses and the test metrics (99 sampled negatives) of the best epoch."""
    seed_everything(cfg.seed)
    model = build_model(cfg, ds, torch.device("cpu"))
    last = {}
    if pretrain_steps_n:
        hist = pretrain_steps(model, ds, cfg, pretrain_steps_n, objectives=objectives)
        last = {f"pretrain_{k}": v[-1] for k, v in hist.items()}
    result = finetune(model, ds, cfg, epochs=finetune_epochs)
    return {"variant": cfg.objective_variant, "seed": cfg.seed, "pretrain_steps": pretrain_steps_n,
            "best_epoch": result["best_epoch"], **last, **{f"test_{k}": v for k, v in result["test"].items()}}


def compare(ds: SequenceDataset, configs: dict[str, Config], seeds, pretrain_steps_n: int,
            finetune_epochs: int) -> list[dict]:
    """:func:`tiny_run` for every named config and every seed: a list of rows with a ``"setting"`` key."""
    rows = []
    for seed in seeds:
        for name, cfg in configs.items():
            rows.append({"setting": name, **tiny_run(ds, cfg.replace(seed=int(seed)), pretrain_steps_n,
                                                     finetune_epochs)})
    return rows


@torch.no_grad()
def attribute_top1(model: S3RecModel, ds: SequenceDataset, head: str = "aap") -> float:
    """Share of items (with attributes) whose best-scored attribute under the paper's AAP critic
    (W e_i + b)^T e_a (Eq. 10, on the item *embedding*) is one of the item's own attributes.
    A random scorer gets about (attributes per item) / (number of attributes)."""
    items = torch.tensor(sorted(i for i, a in ds.item_attributes.items() if a))
    lin = model.heads[head]
    scores = lin(model.item_embeddings.weight[items]) @ model.attribute_embeddings.weight.T  # [n, A]
    scores[:, 0] = -torch.inf  # padding attribute
    best = scores.argmax(1)
    own = torch.as_tensor(ds.attribute_matrix())[items, best] > 0
    return float(own.float().mean())


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Trainable parameters per top-level part of the model (embeddings, blocks, heads) and in total."""
    out: dict[str, int] = {}
    for name, p in model.named_parameters():
        part = name.split(".")[0]
        out[part] = out.get(part, 0) + p.numel()
    out["total"] = int(sum(out.values()))
    return out
