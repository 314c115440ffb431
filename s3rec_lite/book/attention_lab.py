"""Self-attention taken apart on a trained model: the measurements of chapter 6 (and the released checkpoint that chapter 4 loads).

Each function measures one component of the encoder (Section 4.2 of the paper) on a real model, most often
the authors' released LastFM checkpoint (:func:`released_model`) or that checkpoint briefly fine-tuned:

* the attention probabilities of every block and head, in either mask, with any scale (:func:`attention_maps`),
  and per-row statistics of them (:func:`head_table`, :func:`heads_js`);
* positions: shuffling a sequence's items, with and without position embeddings (:func:`equivariance_gap`,
  :func:`shuffled_split`);
* the 1/sqrt(d/h) scale of Eq. 6 (:func:`scale_table`);
* the mask used at inference (:func:`with_mask`);
* residual connections, LayerNorm and the feed-forward layer, removed from the blocks (:func:`with_blocks`,
  :func:`train_variants`).

Nothing here changes the package's model: variants are deep copies, and the forward pass they compute is the
package's own (:class:`~s3rec_lite.model.Block`) with one piece left out. Evaluation is
:func:`s3rec_lite.train.evaluate`; training is :func:`s3rec_lite.train.finetune`.

Shapes: B users, L positions (``max_len``), h heads, d hidden size, n blocks.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import torch

from .. import zoo
from ..config import Config
from ..data import SequenceDataset, Split
from ..errors import S3RecError
from ..model import Block, S3RecModel, attention_mask
from ..train import build_model, finetune, seed_everything

__all__ = [
    "released_model", "queries_keys", "attention_probs", "attention_maps", "visible_keys", "row_stats",
    "head_table", "js_divergence", "heads_js", "shuffle_items", "without_positions", "equivariance_gap",
    "shuffled_split", "scale_table", "with_mask", "VariantBlock", "with_blocks", "train_variants",
]


# ------------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------------
def released_model(ds: SequenceDataset, cfg: Config) -> S3RecModel:
    """The authors' released pre-trained checkpoint for ``ds``, loaded as the zoo's ``S3-Rec-released``: the
    file is found like the data (``$S3REC_DATA_DIR/checkpoints/``, the cache) or downloaded, and its checksum
    verified. In eval mode; ``model.released_checkpoint`` records the file and its sha256."""
    return zoo.build_model("S3-Rec-released", cfg, ds).eval()


# ------------------------------------------------------------------------------------------------
# Attention probabilities (Eq. 6), from the model's own queries and keys
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def queries_keys(model: S3RecModel, item_ids: torch.Tensor, causal: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The queries and keys every block computes on the model's own forward pass (eval mode, no dropout).

    item_ids [B, L] -> one pair (q, k) per block, each [B, h, L, d/h]. Block l's queries and keys are those of
    its input, the output of block l-1 under the same mask."""
    was_training = model.training
    model.eval()
    mask = attention_mask(item_ids, causal)  # [B, 1, L, L] or [B, 1, 1, L]
    x = model.embed(item_ids)  # [B, L, d]
    out = []
    for block in model.blocks:
        B, L, d = x.shape
        h = block.attention.num_heads
        q, k, _ = block.attention.qkv(x).view(B, L, 3, h, d // h).permute(2, 0, 3, 1, 4)  # each [B, h, L, d/h]
        out.append((q, k))
        x = block(x, mask)  # [B, L, d]
    model.train(was_training)
    return out


def attention_probs(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """softmax(scale * Q K^T + mask): Eq. 6's probabilities. q, k [B, h, L, d/h]; mask additive, broadcastable
    to [B, h, L, L]; ``scale`` None is Eq. 6's 1/sqrt(d/h), 1.0 leaves the dot products unscaled.  -> [B, h, L, L]"""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    return torch.softmax(q @ k.transpose(-1, -2) * scale + mask, dim=-1)


@torch.no_grad()
def attention_maps(model: S3RecModel, item_ids: torch.Tensor, causal: bool, scale: float | None = None) -> torch.Tensor:
    """Every block's attention probabilities.  item_ids [B, L] -> [B, n, h, L, L] (row i: query position i).

    With ``scale=None`` these are the probabilities the model uses (``explain.attention_weights``, stacked);
    another ``scale`` changes only the softmax read here, not the forward pass that feeds the next block."""
    mask = attention_mask(item_ids, causal)
    return torch.stack([attention_probs(q, k, mask, scale) for q, k in queries_keys(model, item_ids, causal)], dim=1)


# ------------------------------------------------------------------------------------------------
# Statistics of attention rows
# ------------------------------------------------------------------------------------------------
def visible_keys(item_ids: torch.Tensor, causal: bool) -> torch.Tensor:
    """[B, L] -> [B, L, L] bool: key j is a real item that query i may see (j <= i if causal)."""
    L = item_ids.shape[1]
    keep = (item_ids > 0)[:, None, :].expand(-1, L, -1)  # [B, L, L]
    if causal:
        keep = keep & torch.ones(L, L, dtype=torch.bool, device=item_ids.device).tril()
    return keep


def row_stats(probs: torch.Tensor, item_ids: torch.Tensor, causal: bool) -> dict[str, torch.Tensor]:
    """Per-row statistics of attention probabilities ``probs`` [B, n, h, L, L] for ``item_ids`` [B, L].

    Returns tensors [n, h, R] over the R rows that matter (a real query that sees at least two keys):
    ``entropy_share`` (entropy / log of the number of visible keys: 1 = uniform), ``peak`` (largest weight),
    ``distance`` (expected |i - j| in positions), ``self`` (weight on its own position), ``future`` (weight on
    positions j > i; 0 under the causal mask), ``newest`` (weight on the last position, the newest item under
    left padding) and ``visible`` (number of visible keys)."""
    if probs.dim() != 5 or probs.shape[0] != item_ids.shape[0] or probs.shape[-1] != item_ids.shape[1]:
        raise S3RecError(f"row_stats: probs must be [B, n, h, L, L] for item_ids [B, L], got {tuple(probs.shape)} "
                         f"and {tuple(item_ids.shape)}")
    B, n, h, L, _ = probs.shape
    keep = visible_keys(item_ids, causal)  # [B, L, L]
    visible = keep.sum(-1)  # [B, L]
    rows = (item_ids > 0) & (visible >= 2)  # [B, L]
    pos = torch.arange(L, device=probs.device)
    dist = (pos[:, None] - pos[None, :]).abs().to(probs.dtype)  # [L, L]
    future = (pos[None, :] > pos[:, None]).to(probs.dtype)  # [L, L]
    p = probs.permute(1, 2, 0, 3, 4)[:, :, rows]  # [n, h, R, L]
    entropy = -(p * p.clamp_min(1e-30).log()).sum(-1)  # [n, h, R]
    vis = visible[rows].to(probs.dtype)  # [R]
    query = pos[None, :].expand(B, L)[rows]  # [R] position of each row's query
    return {
        "entropy_share": entropy / vis.log(),
        "peak": p.max(-1).values,
        "distance": (p * dist[query]).sum(-1),
        "self": p.gather(-1, query.view(1, 1, -1, 1).expand(n, h, -1, 1)).squeeze(-1),
        "future": (p * future[query]).sum(-1),
        "newest": p[..., -1],
        "visible": vis.expand(n, h, -1),
    }


def head_table(probs: torch.Tensor, item_ids: torch.Tensor, causal: bool, saturated: float = 0.9) -> pd.DataFrame:
    """One row per block and head: the means of :func:`row_stats` over all rows, and the share of rows whose
    largest weight exceeds ``saturated``. probs [B, n, h, L, L], item_ids [B, L]."""
    s = row_stats(probs, item_ids, causal)
    n, h = s["peak"].shape[:2]
    rows = []
    for b in range(n):
        for i in range(h):
            rows.append({"block": b + 1, "head": i + 1,
                         "entropy / uniform": float(s["entropy_share"][b, i].mean()),
                         "largest weight": float(s["peak"][b, i].mean()),
                         f"rows > {saturated}": float((s["peak"][b, i] > saturated).float().mean()),
                         "distance |i-j|": float(s["distance"][b, i].mean()),
                         "on itself": float(s["self"][b, i].mean()),
                         "on later items": float(s["future"][b, i].mean()),
                         "on newest item": float(s["newest"][b, i].mean())})
    return pd.DataFrame(rows)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence in bits (0: the same distribution, 1: disjoint supports) between the rows of
    p and q [..., L] (each row sums to 1).  -> [...]"""
    m = 0.5 * (p + q)

    def kl(a, b):
        return (a * (a.clamp_min(1e-30).log2() - b.clamp_min(1e-30).log2())).sum(-1)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def heads_js(probs: torch.Tensor, item_ids: torch.Tensor, causal: bool) -> pd.DataFrame:
    """For every block of a two-or-more-head model: the mean Jensen-Shannon divergence (bits) between head 1's
    and head 2's row for the same query, and, as a yardstick, each head's mean divergence from the uniform row
    over the visible keys. probs [B, n, h, L, L], item_ids [B, L]."""
    if probs.shape[2] < 2:
        raise S3RecError("heads_js: the model has a single head")
    keep = visible_keys(item_ids, causal)  # [B, L, L]
    visible = keep.sum(-1)  # [B, L]
    rows = (item_ids > 0) & (visible >= 2)  # [B, L]
    uniform = (keep / visible.clamp_min(1)[..., None].to(probs.dtype))[rows]  # [R, L]
    out = []
    for b in range(probs.shape[1]):
        h1, h2 = probs[:, b, 0][rows], probs[:, b, 1][rows]  # [R, L] each
        out.append({"block": b + 1, "JS(head 1, head 2)": float(js_divergence(h1, h2).mean()),
                    "JS(head 1, uniform)": float(js_divergence(h1, uniform).mean()),
                    "JS(head 2, uniform)": float(js_divergence(h2, uniform).mean())})
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------------
# Positions: shuffling the items of a sequence
# ------------------------------------------------------------------------------------------------
def shuffle_items(item_ids: torch.Tensor, seed: int = 0, keep_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffle the real items of every row, padding left where it is (``keep_last``: the newest item stays too).

    item_ids [B, L] -> (shuffled [B, L], perm [B, L]) with ``shuffled[b, i] == item_ids[b, perm[b, i]]``."""
    g = torch.Generator().manual_seed(seed)
    B, L = item_ids.shape
    perm = torch.arange(L).repeat(B, 1)  # [B, L]
    for b in range(B):
        real = torch.nonzero(item_ids[b] > 0).flatten().cpu()  # contiguous at the right (left padding)
        movable = real[:-1] if keep_last else real
        if len(movable) > 1:
            perm[b, movable] = movable[torch.randperm(len(movable), generator=g)]
    perm = perm.to(item_ids.device)
    return item_ids.gather(1, perm), perm


def without_positions(model: S3RecModel) -> S3RecModel:
    """A copy of ``model`` whose position embeddings are all zero: the input is LN(item embedding) only."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        out.position_embeddings.weight.zero_()
    return out


@torch.no_grad()
def equivariance_gap(model: S3RecModel, item_ids: torch.Tensor, causal: bool, seed: int = 0) -> float:
    """How far the encoder is from permutation-equivariant on ``item_ids`` [B, L]: shuffle each row's items
    (:func:`shuffle_items`), encode both, and compare the shuffled output with the original output moved the same
    way. Returns the mean over real positions of ||F(Px)_i - F(x)_{perm(i)}|| / ||F(x)_{perm(i)}|| (0: equivariant)."""
    model.eval()
    shuffled, perm = shuffle_items(item_ids, seed)
    out = model.encode(item_ids, causal=causal)  # [B, L, d]
    moved = out.gather(1, perm[..., None].expand_as(out))  # [B, L, d] F(x)_{perm(i)}
    out_shuffled = model.encode(shuffled, causal=causal)  # [B, L, d]
    real = shuffled > 0  # [B, L]
    gap = (out_shuffled - moved).norm(dim=-1)[real] / moved.norm(dim=-1)[real]
    return float(gap.mean())


def shuffled_split(split: Split, seed: int = 0, keep_last: bool = False) -> Split:
    """A copy of ``split`` whose validation and test inputs have their items shuffled (:func:`shuffle_items`);
    answers and negatives unchanged. What order adds to a prediction is the difference in metrics."""
    out = copy.copy(split)
    for name in ("valid_inputs", "test_inputs"):
        shuffled, _ = shuffle_items(torch.as_tensor(getattr(split, name)), seed, keep_last)
        setattr(out, name, shuffled.numpy())
    return out


# ------------------------------------------------------------------------------------------------
# The 1/sqrt(d/h) scale
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def scale_table(model: S3RecModel, item_ids: torch.Tensor, causal: bool, saturated: float = 0.9) -> pd.DataFrame:
    """The model's own queries and keys, read with Eq. 6's scale 1/sqrt(d/h) and without it (scale 1): per block,
    the spread (std) of the logits of real query-key pairs, the mean entropy share of the rows (1 = uniform) and
    the share of rows whose largest weight exceeds ``saturated``. item_ids [B, L]."""
    mask = attention_mask(item_ids, causal)
    keep = visible_keys(item_ids, causal)  # [B, L, L]
    rows = []
    for b, (q, k) in enumerate(queries_keys(model, item_ids, causal)):
        dh = q.shape[-1]
        for name, scale in (("1/sqrt(d/h)", 1.0 / math.sqrt(dh)), ("none", 1.0)):
            logits = (q @ k.transpose(-1, -2) * scale)  # [B, h, L, L]
            probs = attention_probs(q, k, mask, scale)[:, None]  # [B, 1, h, L, L]
            s = row_stats(probs, item_ids, causal)
            rows.append({"block": b + 1, "scale": name,
                         "logit std": float(logits.permute(1, 0, 2, 3)[:, keep].std()),
                         "entropy / uniform": float(s["entropy_share"].mean()),
                         f"rows > {saturated}": float((s["peak"] > saturated).float().mean())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# The mask at inference
# ------------------------------------------------------------------------------------------------
class _FixedMask(S3RecModel):
    """An S3RecModel that encodes with one mask whatever the caller asks (only made by :func:`with_mask`)."""

    forced_causal = True

    def encode(self, item_ids, causal: bool = True, last_only: bool = False):
        return super().encode(item_ids, causal=self.forced_causal, last_only=last_only)


def with_mask(model: S3RecModel, causal: bool) -> S3RecModel:
    """A copy of ``model`` that always encodes with the given mask: ``with_mask(m, causal=False)`` predicts the
    next item from bidirectional attention over the input (no leak: the answer is not in the input)."""
    if type(model) not in (S3RecModel, _FixedMask):
        raise S3RecError(f"with_mask: needs an S3RecModel, got {type(model).__name__}")
    out = copy.deepcopy(model)
    out.__class__ = _FixedMask
    out.forced_causal = causal
    return out


# ------------------------------------------------------------------------------------------------
# Residual connections, LayerNorm, the feed-forward layer: blocks with one piece left out
# ------------------------------------------------------------------------------------------------
class VariantBlock(Block):
    """:class:`~s3rec_lite.model.Block` with pieces switched off (the same parameters, so a trained block can
    be turned into one):

        all on (Block itself):    h = LN(x + Attn(x)),  out = LN(h + FFN(h))
        use_residual=False:       h = LN(Attn(x)),      out = LN(FFN(h))
        use_layer_norm=False:     h = x + Attn(x),      out = h + FFN(h)
        use_ffn=False:            out = LN(h + 0)       (the FFN's output replaced by zeros)
    """

    use_residual, use_layer_norm, use_ffn = True, True, True

    def forward(self, x, mask, last_query_only: bool = False):  # [B, L, d] -> [B, L, d] (or [B, 1, d])
        skip = x[:, -1:] if last_query_only else x
        a = self.dropout(self.attention(x, mask, last_query_only))  # [B, L, d]
        h = skip + a if self.use_residual else a
        h = self.attention_norm(h) if self.use_layer_norm else h
        if self.use_ffn:
            f = self.dropout(self.ffn(h))  # [B, L, d]
            out = h + f if self.use_residual else f
        else:
            out = h  # the sub-layer adds nothing
        return self.ffn_norm(out) if self.use_layer_norm else out


def with_blocks(model: S3RecModel, residual: bool = True, layer_norm: bool = True, ffn: bool = True,
                blocks=None) -> S3RecModel:
    """A copy of ``model`` whose blocks (all, or the 0-based indices in ``blocks``) leave out the residual
    connections, the LayerNorms or the feed-forward layer (:class:`VariantBlock`)."""
    out = copy.deepcopy(model)
    chosen = range(len(out.blocks)) if blocks is None else blocks
    for i in chosen:
        if not 0 <= i < len(out.blocks):
            raise S3RecError(f"with_blocks: block {i} does not exist (the model has {len(out.blocks)})")
        block = out.blocks[i]
        block.__class__ = VariantBlock
        block.use_residual, block.use_layer_norm, block.use_ffn = residual, layer_norm, ffn
    return out


def train_variants(ds: SequenceDataset, cfg: Config, variants: dict[str, dict], epochs: int) -> dict[str, list[dict]]:
    """Train each named variant from scratch (no pre-training: SASRec) for exactly ``epochs`` epochs of the
    package's fine-tuning loop (``finetune``, no early stop), every one from the same seeded initialisation.
    ``variants``: name -> keyword arguments of :func:`with_blocks`. Returns name -> the per-epoch history
    (``loss``, ``valid_NDCG@10``, ...)."""
    out = {}
    for name, flags in variants.items():
        seed_everything(cfg.seed)
        model = with_blocks(build_model(cfg, ds, torch.device("cpu")), **flags)
        # packed_finetuning replays the plain block (fast.py), not VariantBlock: off here
        result = finetune(model, ds, cfg.replace(patience=epochs + 1, packed_finetuning=False), epochs=epochs)
        out[name] = result["history"]
    return out


def curve(history: list[dict], key: str = "valid_NDCG@10") -> np.ndarray:
    """One column of a ``finetune`` history, per epoch."""
    return np.array([row[key] for row in history])
