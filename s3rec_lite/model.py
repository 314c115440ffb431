"""The S3-Rec model: a SASRec-style Transformer encoder (Section 3.2 of the paper).

One encoder, two uses: bidirectional attention for pre-training (Section 3.4), causal attention for
fine-tuning (Section 3.5). Blocks are post-LayerNorm, as in the authors' code (and BERT):

    h   = LN(x + Dropout(MultiHeadAttn(x)))           Eq. 4-6 and the residual connection
    out = LN(h + Dropout(FFN(h)))                      Eq. 7-8 and the residual connection

Shapes: B batch, L sequence length (``max_len``), d hidden size, h heads, V item vocabulary, A attributes.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config

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


def keep_mask(shape, keep_prob: float, device) -> torch.Tensor:
    """A Bernoulli(keep_prob) bool mask, drawn from random bytes: 8 (or 4) draws per 64-bit random number.

    ``torch.bernoulli_`` draws one 32-bit number per element on the CPU, and that was 45% of a
    pre-training step there. Probabilities that are multiples of 1/256 (0.5, the authors' dropout) are
    exact with bytes; others use 16-bit draws (error below 1/65536)."""
    n = math.prod(shape)
    if float(keep_prob * 256).is_integer():
        raw = torch.empty((n + 7) // 8, dtype=torch.int64, device=device).random_(-(2**63), None).view(torch.uint8)[:n]
        return (raw < int(keep_prob * 256)).view(shape)
    raw = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None).view(torch.int16)[:n]
    return (raw < int(round(keep_prob * 65536)) - 32768).view(shape)


def dropout(x: torch.Tensor, p: float, training: bool, fast: bool) -> torch.Tensor:
    """Inverted dropout. ``fast`` on a CPU: masks from random bytes (see :func:`keep_mask`); else F.dropout."""
    if not training or p == 0.0:
        return x
    if fast and x.device.type == "cpu":
        scale = torch.tensor(1.0 / (1.0 - p), dtype=x.dtype, device=x.device)
        return x * torch.where(keep_mask(x.shape, 1.0 - p, x.device), scale, torch.zeros_like(scale))
    return F.dropout(x, p, True)


class Dropout(nn.Module):
    def __init__(self, p: float, fast: bool):
        super().__init__()
        self.p, self.fast = p, fast

    def forward(self, x):
        return dropout(x, self.p, self.training, self.fast)

    def extra_repr(self):
        return f"p={self.p}, fast={self.fast}"


def scaled_dot_product_attention(q, k, v, mask, dropout_p: float, training: bool, fast: bool = False):
    """Eq. 6, written out: softmax(Q K^T / sqrt(d/h) + mask) V, with dropout on the probabilities.

    q, k, v: [B, h, L, d/h]; mask: additive, broadcastable to [B, h, L, L]. The plain reference path;
    the model normally calls the fused ``F.scaled_dot_product_attention``, which computes the same.
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [B, h, L, L]
    probs = torch.softmax(scores + mask, dim=-1)  # [B, h, L, L]
    probs = dropout(probs, dropout_p, training, fast)
    return probs @ v  # [B, h, L, d/h]


class MultiHeadSelfAttention(nn.Module):
    """Eq. 4-5: MultiHeadAttn(F) = [head_1; ...; head_h] W^O, head_i = Attention(F W_i^Q, F W_i^K, F W_i^V)."""

    def __init__(self, cfg: Config):
        super().__init__()
        d = cfg.hidden_size
        self.num_heads = cfg.num_heads
        self.qkv = nn.Linear(d, 3 * d)  # W^Q, W^K, W^V of all heads in one matrix [3d, d]
        self.out = nn.Linear(d, d)  # W^O
        self.attention_dropout = cfg.attention_dropout
        self.fused = cfg.fast

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
        p = self.attention_dropout if self.training else 0.0
        if self.fused and (p == 0.0 or x.device.type != "cpu"):
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)  # Eq. 6, fused kernel
        else:
            ctx = scaled_dot_product_attention(q, k, v, mask, p, self.training, self.fused)  # Eq. 6, explicit
        ctx = ctx.transpose(1, 2).reshape(B, q.shape[2], d)  # [B, L, d] = concat of heads (Eq. 4)
        return self.out(ctx)  # Eq. 4: W^O


class FeedForward(nn.Module):
    """Eq. 7-8: a point-wise two-layer network, FFN(x) = GELU(x W_1 + b_1) W_2 + b_2.

    The paper writes ReLU; the authors' code uses GELU (erf form), and so do we."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.dense_1 = nn.Linear(cfg.hidden_size, 4 * cfg.hidden_size)  # W_1 [4d, d], b_1
        self.dense_2 = nn.Linear(4 * cfg.hidden_size, cfg.hidden_size)  # W_2 [d, 4d], b_2

    def forward(self, x):  # [B, L, d] -> [B, L, d]
        return self.dense_2(F.gelu(self.dense_1(x)))


class Block(nn.Module):
    """One self-attention block with residual connections, dropout and post-LayerNorm."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.attention = MultiHeadSelfAttention(cfg)
        self.attention_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.ffn = FeedForward(cfg)
        self.ffn_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = Dropout(cfg.hidden_dropout, cfg.fast)

    def forward(self, x, mask, last_query_only: bool = False):  # [B, L, d] -> [B, L, d] (or [B, 1, d])
        residual = x[:, -1:] if last_query_only else x
        x = self.attention_norm(residual + self.dropout(self.attention(x, mask, last_query_only)))
        return self.ffn_norm(x + self.dropout(self.ffn(x)))


def init_weights(module: nn.Module, std: float) -> None:
    """The authors' initialisation: N(0, std) for every weight (padding rows too), zero biases, LayerNorm at
    identity. Use as ``model.apply(lambda m: init_weights(m, cfg.init_std))``."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class S3RecModel(nn.Module):
    """Embeddings, the self-attention encoder, and the four objective heads (W_AAP, W_MIP, W_MAP, W_SP).

    ``item_vocab_size`` = number of items + 2 (padding 0 and the mask token); ``attribute_vocab_size`` =
    largest attribute id + 1 (padding 0).
    """

    def __init__(self, cfg: Config, item_vocab_size: int, attribute_vocab_size: int):
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden_size
        self.item_vocab_size, self.attribute_vocab_size = item_vocab_size, attribute_vocab_size
        self.item_embeddings = nn.Embedding(item_vocab_size, d, padding_idx=0)  # E_I, also the output layer (Eq. 9)
        self.attribute_embeddings = nn.Embedding(attribute_vocab_size, d, padding_idx=0)  # E_A
        self.position_embeddings = nn.Embedding(cfg.max_len, d)  # P, learned positions
        self.embedding_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.embedding_dropout = Dropout(cfg.hidden_dropout, cfg.fast)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        # The bilinear maps of Eq. 10, 12, 14, 16, as linear layers with bias (authors' code).
        self.heads = nn.ModuleDict({name: nn.Linear(d, d) for name in ("aap", "mip", "map", "sp")})
        self.apply(self._init_weights)

    def _init_weights(self, module):
        init_weights(module, self.cfg.init_std)

    @property
    def mask_id(self) -> int:
        return self.item_vocab_size - 1

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

    def score_candidates(self, hidden: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Eq. 9: P(i_{t+1} = i | i_{1:t}) = e_i^T F_t^L, for given candidates.
        hidden [B, d], candidates [B, C] -> scores [B, C]."""
        return torch.einsum("bcd,bd->bc", self.item_embeddings(candidates), hidden)

    def score_all(self, hidden: torch.Tensor) -> torch.Tensor:
        """Eq. 9 against the whole item vocabulary.  hidden [B, d] -> scores [B, V]"""
        return hidden @ self.item_embeddings.weight.T

    def next_item_logits(self, item_ids, targets, negatives):
        """Fine-tuning scores at every position (Eq. 9): the true next item and a sampled one.
        item_ids, targets, negatives [B, L] -> (pos_logits, neg_logits), each [B, L]."""
        hidden = self.encode(item_ids, causal=True)  # [B, L, d]
        pos = (hidden * self.item_embeddings(targets)).sum(-1)  # e_{i_{t+1}}^T F_t
        neg = (hidden * self.item_embeddings(negatives)).sum(-1)  # e_j^T F_t
        return pos, neg

    def user_representation(self, item_ids: torch.Tensor) -> torch.Tensor:
        """The causal encoder's output at the newest position, F_t^L.  [B, L] -> [B, d]"""
        return self.encode(item_ids, causal=True, last_only=True)
