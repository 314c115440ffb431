"""Every speed trick of the package, in one place, each behind its own flag of :class:`~s3rec_lite.config.Config`.

The model (:mod:`s3rec_lite.model`) and the objectives are written plainly; :func:`apply_speed_flags` turns a
plainly built model into the fast one, and the training loop asks this module for the optimiser and for
the encoding of the pre-training views. Every flag computes the same function as the plain path: the golden
test (``tests/test_golden.py``) checks all of them against the authors' model to 1e-4.

==================  ==========================================================================================
flag                what it does
==================  ==========================================================================================
``fused_attention``  Eq. 6 by ``F.scaled_dot_product_attention`` (one kernel) wherever no attention dropout
                     is drawn on a CPU (evaluation, or any GPU step).
``byte_dropout``     CPU dropout masks from random bytes: ``torch.bernoulli_`` draws one 32-bit number per
                     element and was 45% of a pre-training step; 8 draws per 64-bit number here.
``fused_adam``       ``torch.optim.Adam(fused=True)`` on a GPU (one kernel for all parameters).
``sp_last_only``     SP reads only the last output of its three views: encode them apart from the main view,
                     with the last block computing the last position only (``encode(last_only=True)``).
==================  ==========================================================================================

``Config(fast=False)`` (``--no-fast``) turns all four off: the plain reference path.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config
from .model import Dropout, MultiHeadSelfAttention


# ------------------------------------------------------------------------------------------------
# byte_dropout
# ------------------------------------------------------------------------------------------------
def keep_mask(shape, keep_prob: float, device) -> torch.Tensor:
    """A Bernoulli(keep_prob) bool mask, drawn from random bytes: 8 (or 4) draws per 64-bit random number.

    Probabilities that are multiples of 1/256 (0.5, the authors' dropout) are exact with bytes; others use
    16-bit draws (error below 1/65536)."""
    n = math.prod(shape)
    if float(keep_prob * 256).is_integer():
        raw = torch.empty((n + 7) // 8, dtype=torch.int64, device=device).random_(-(2**63), None).view(torch.uint8)[:n]
        return (raw < int(keep_prob * 256)).view(shape)
    raw = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None).view(torch.int16)[:n]
    return (raw < int(round(keep_prob * 65536)) - 32768).view(shape)


def byte_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with masks from :func:`keep_mask` on a CPU (``F.dropout`` elsewhere)."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    scale = torch.tensor(1.0 / (1.0 - p), dtype=x.dtype, device=x.device)
    return x * torch.where(keep_mask(x.shape, 1.0 - p, x.device), scale, torch.zeros_like(scale))


class ByteDropout(Dropout):
    """:class:`~s3rec_lite.model.Dropout` with :func:`byte_dropout` masks."""

    def forward(self, x):
        return byte_dropout(x, self.p, self.training)


# ------------------------------------------------------------------------------------------------
# Applying the flags
# ------------------------------------------------------------------------------------------------
def apply_speed_flags(model: nn.Module, cfg: Config) -> nn.Module:
    """Set ``model``'s speed tricks from ``cfg`` (in place; returns the model). Touches only the package's own
    :class:`~s3rec_lite.model.Dropout` and :class:`~s3rec_lite.model.MultiHeadSelfAttention` modules."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) in (Dropout, ByteDropout):
                swapped = ByteDropout(child.p) if cfg.byte_dropout else Dropout(child.p)
                swapped.train(child.training)
                setattr(parent, name, swapped)
    for m in model.modules():
        if isinstance(m, MultiHeadSelfAttention):
            m.fused = cfg.fused_attention
    return model


def adam(model: nn.Module, lr: float, cfg: Config, device: torch.device) -> torch.optim.Optimizer:
    """Adam with the config's betas and weight decay; ``fused_adam`` on a GPU."""
    kwargs = dict(lr=lr, betas=tuple(cfg.adam_betas), weight_decay=cfg.weight_decay)
    if cfg.fused_adam and device.type == "cuda":
        kwargs["fused"] = True
    return torch.optim.Adam(model.parameters(), **kwargs)


# ------------------------------------------------------------------------------------------------
# sp_last_only: the pre-training views
# ------------------------------------------------------------------------------------------------
def encode_views(model, batch, causal: bool, needs_segments: bool, sp_last_only: bool):
    """The encodings the objectives read: the masked sequence [B, L, d] and, if SP is active, the last output
    of its three views (context, positive and negative segment), each [B, d].

    Plain: one encoder pass over all four views stacked, [4B, L]. ``sp_last_only``: the main view alone, then
    the three SP views with the last block computing only their last position (the same numbers, less work)."""
    B = batch.inputs.shape[0]
    if not needs_segments:
        return model.encode(batch.inputs, causal=causal), None, None, None
    if not sp_last_only:
        views = torch.cat([batch.inputs, batch.segment_context, batch.segment_pos, batch.segment_neg])  # [4B, L]
        encoded = model.encode(views, causal=causal)  # [4B, L, d]
        seg_ctx, seg_pos, seg_neg = encoded[B:, -1].split(B)  # each [B, d]: the output at the last position
        return encoded[:B], seg_ctx, seg_pos, seg_neg
    hidden = model.encode(batch.inputs, causal=causal)  # [B, L, d]
    views = torch.cat([batch.segment_context, batch.segment_pos, batch.segment_neg])  # [3B, L]
    seg_ctx, seg_pos, seg_neg = model.encode(views, causal=causal, last_only=True).split(B)  # each [B, d]
    return hidden, seg_ctx, seg_pos, seg_neg
