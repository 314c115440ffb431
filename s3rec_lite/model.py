"""The S3-Rec model: a SASRec-style Transformer encoder (Section 4.2 of the paper).

One encoder, two uses: bidirectional attention for pre-training (Section 4.3), causal attention for
fine-tuning (Section 4.4). This file is the plain model; the speed tricks live in :mod:`s3rec_lite.fast`. Blocks are post-LayerNorm, as in the authors' code (and BERT):

    h   = LN(x + Dropout(MultiHeadAttn(x)))           Eq. 4-6 and the residual connection
    out = LN(h + Dropout(FFN(h)))                      Eq. 7-8 and the residual connection

Shapes: B batch, L sequence length (``max_len``), d hidden size, h heads, V item vocabulary, A attributes.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Architecture, Config
from .recommender import Recommender, init_weights  # noqa: F401  (init_weights: re-exported for the baselines)

# Additive attention-mask values used by the authors' code (both saturate softmax in fp32).
PRETRAIN_MASK_VALUE = -1e8
FINETUNE_MASK_VALUE = -10000.0


def attention_mask(item_ids: torch.Tensor, causal: bool) -> torch.Tensor:
    """Additive mask [B, 1, L, L] (causal) or [B, 1, 1, L] (bidirectional): 0 where a query may look,
    a large negative number at padding keys (and, if causal, at future keys)."""
    keep = (item_ids > 0)[:, None, None, :]  # [B, 1, 1, L] keys that are real items
    if causal:
        L = item_ids.shape[1]
        lower = torch.ones(L, L, dtype=torch.bool, device=item_ids.device).tril()  # [L, L] key j <= query i
        keep = keep & lower  # [B, 1, L, L]
        value = FINETUNE_MASK_VALUE
    else:
        value = PRETRAIN_MASK_VALUE
    zero = torch.zeros((), dtype=torch.float32, device=item_ids.device)
    return torch.where(keep, zero, torch.full_like(zero, value))


class Dropout(nn.Dropout):
    """Inverted dropout (``nn.Dropout``). The speed flag ``byte_dropout`` (:mod:`s3rec_lite.fast`) swaps these
    modules, and only these, for one that draws the same Bernoulli masks faster on a CPU."""


def scaled_dot_product_attention(q, k, v, mask, dropout: nn.Module | None = None):
    """Eq. 6, written out: softmax(Q K^T / sqrt(d/h) + mask) V, with dropout on the probabilities.

    q, k, v: [B, h, L, d/h]; mask: additive, broadcastable to [B, h, L, L]; ``dropout``: a module applied to
    the attention probabilities (the authors' code drops them). The speed flag ``fused_attention`` calls
    ``F.scaled_dot_product_attention`` instead where it computes the same (see :mod:`s3rec_lite.fast`).
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [B, h, L, L]
    probs = torch.softmax(scores + mask, dim=-1)  # [B, h, L, L]
    if dropout is not None:
        probs = dropout(probs)
    return probs @ v  # [B, h, L, d/h]


def fused_attention(q, k, v, mask, dropout: nn.Module):
    """Eq. 6 by ``F.scaled_dot_product_attention`` (one fused kernel), used under the speed flag
    ``fused_attention``. On a CPU while dropout is active it falls back to the explicit form, so that the
    probabilities are dropped with this package's masks (the fused kernel draws its own)."""
    p = dropout.p if dropout.training else 0.0
    if p > 0.0 and q.device.type == "cpu":
        return scaled_dot_product_attention(q, k, v, mask, dropout)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)


class MultiHeadSelfAttention(nn.Module):
    """Eq. 4-5: MultiHeadAttn(F) = [head_1; ...; head_h] W^O, head_i = Attention(F W_i^Q, F W_i^K, F W_i^V)."""

    fused = False  # set by the speed flag ``fused_attention`` (s3rec_lite.fast)

    def __init__(self, arch: Architecture):
        super().__init__()
        d = arch.hidden_size
        self.num_heads = arch.num_heads
        self.qkv = nn.Linear(d, 3 * d)  # W^Q, W^K, W^V of all heads in one matrix [3d, d]
        self.out = nn.Linear(d, d)  # W^O
        self.prob_dropout = Dropout(arch.attention_dropout)  # on the attention probabilities

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_query_only: bool = False) -> torch.Tensor:
        """x [B, L, d] -> [B, L, d] (or [B, 1, d]: only the newest position asks, when ``last_query_only``)."""
        B, L, d = x.shape
        h = self.num_heads
        if last_query_only:  # keys and values from every position, the query from the last one only
            W, b = self.qkv.weight, self.qkv.bias
            q = F.linear(x[:, -1:], W[:d], b[:d]).view(B, 1, h, d // h).transpose(1, 2)  # [B, h, 1, d/h]
            k, v = F.linear(x, W[d:], b[d:]).view(B, L, 2, h, d // h).permute(2, 0, 3, 1, 4)  # [B, h, L, d/h]
            mask = mask[:, :, -1:, :]
        else:
            q, k, v = self.qkv(x).view(B, L, 3, h, d // h).permute(2, 0, 3, 1, 4)  # each [B, h, L, d/h]
        if self.fused:
            ctx = fused_attention(q, k, v, mask, self.prob_dropout)  # Eq. 6, a fused kernel where it is the same
        else:
            ctx = scaled_dot_product_attention(q, k, v, mask, self.prob_dropout)  # Eq. 6
        ctx = ctx.transpose(1, 2).reshape(B, q.shape[2], d)  # [B, L, d] = concat of heads (Eq. 4)
        return self.out(ctx)  # Eq. 4: W^O


class FeedForward(nn.Module):
    """Eq. 7-8: a point-wise two-layer network, FFN(x) = GELU(x W_1 + b_1) W_2 + b_2.

    The paper writes ReLU; the authors' code uses GELU (erf form), and so do we."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.dense_1 = nn.Linear(arch.hidden_size, 4 * arch.hidden_size)  # W_1 [4d, d], b_1
        self.dense_2 = nn.Linear(4 * arch.hidden_size, arch.hidden_size)  # W_2 [d, 4d], b_2

    def forward(self, x):  # [B, L, d] -> [B, L, d]
        return self.dense_2(F.gelu(self.dense_1(x)))


class Block(nn.Module):
    """One self-attention block with residual connections, dropout and post-LayerNorm."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.attention = MultiHeadSelfAttention(arch)
        self.attention_norm = nn.LayerNorm(arch.hidden_size, eps=arch.layer_norm_eps)
        self.ffn = FeedForward(arch)
        self.ffn_norm = nn.LayerNorm(arch.hidden_size, eps=arch.layer_norm_eps)
        self.dropout = Dropout(arch.hidden_dropout)

    def forward(self, x, mask, last_query_only: bool = False):  # [B, L, d] -> [B, L, d] (or [B, 1, d])
        residual = x[:, -1:] if last_query_only else x
        x = self.attention_norm(residual + self.dropout(self.attention(x, mask, last_query_only)))
        return self.ffn_norm(x + self.dropout(self.ffn(x)))


class S3RecModel(Recommender):
    """Embeddings, the self-attention encoder, and the four objective heads (W_AAP, W_MIP, W_MAP, W_SP).

    ``item_vocab_size`` = number of items + 2 (padding 0 and the mask token); ``attribute_vocab_size`` =
    largest attribute id + 1 (padding 0). Built from an :class:`~s3rec_lite.config.Architecture` (a whole
    Config is reduced to its ``arch``). Pre-trained bidirectionally (``causal_pretraining = False``).
    """

    zoo_name = "S3-Rec"
    causal_pretraining = False

    def __init__(self, arch: Architecture | Config, item_vocab_size: int, attribute_vocab_size: int):
        super().__init__(arch, item_vocab_size, attribute_vocab_size)  # E_I: item_embeddings, also Eq. 9's table
        arch, d = self.arch, self.arch.hidden_size
        self.attribute_embeddings = nn.Embedding(attribute_vocab_size, d, padding_idx=0)  # E_A
        self.position_embeddings = nn.Embedding(arch.max_len, d)  # P, learned positions
        self.embedding_norm = nn.LayerNorm(d, eps=arch.layer_norm_eps)
        self.embedding_dropout = Dropout(arch.hidden_dropout)
        self.blocks = nn.ModuleList(Block(arch) for _ in range(arch.num_layers))
        # The bilinear maps of Eq. 10, 12, 14, 16, as linear layers with bias (authors' code).
        self.heads = nn.ModuleDict({name: nn.Linear(d, d) for name in ("aap", "mip", "map", "sp")})
        self.apply(self._init_weights)

    def embed(self, item_ids: torch.Tensor) -> torch.Tensor:
        """E = Dropout(LN(item embedding + position embedding)).  [B, L] -> [B, L, d]"""
        L = item_ids.shape[1]
        positions = torch.arange(L, device=item_ids.device)  # left padding: the newest item is at L-1
        x = self.item_embeddings(item_ids) + self.position_embeddings(positions)[None]  # [B, L, d]
        return self.embedding_dropout(self.embedding_norm(x))

    def encode(self, item_ids: torch.Tensor, causal: bool, last_only: bool = False) -> torch.Tensor:
        """F^L, the output of the last block.  [B, L] -> [B, L, d]  (``last_only``: [B, d])

        ``causal=False`` for pre-training (each position sees the whole sequence), ``True`` for
        fine-tuning and prediction (each position sees itself and the past). ``last_only`` returns only
        the newest position's output, and skips computing the others in the last block (the same values,
        less work: segment prediction and evaluation need nothing else)."""
        mask = attention_mask(item_ids, causal)
        x = self.embed(item_ids)
        for i, block in enumerate(self.blocks):
            x = block(x, mask, last_query_only=last_only and i == len(self.blocks) - 1)
        return x[:, -1] if last_only else x
