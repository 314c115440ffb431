"""Every speed trick of the package, in one place, each behind its own flag of :class:`~s3rec_lite.config.Config`.

The model (:mod:`s3rec_lite.model`) and the objectives are written plainly; :func:`apply_speed_flags` turns a
plainly built model into the fast one, and the training loops ask this module for the optimiser, the encoding
of the pre-training views, the fine-tuning loss and the users' representations in evaluation. Every flag
computes the same function as the plain path: the golden test (``tests/test_golden.py``) checks all of them
against the authors' model, to 1e-4 in fp32 and to 1e-2 for the two bf16 flags (``packed_fdsa``, for a model the
authors did not release: ``tests/test_fast.py`` against FDSA's padded path).

======================  ======================================================================================
flag                    what it does
======================  ======================================================================================
``fused_attention``     Eq. 6 by ``F.scaled_dot_product_attention`` (one kernel) wherever no attention dropout
                        is drawn on a CPU (evaluation, or any GPU step).
``byte_dropout``        CPU dropout masks from random bytes: ``torch.bernoulli_`` draws one 32-bit number per
                        element and was 45% of a pre-training step; 8 draws per 64-bit number here.
``fused_adam``          ``torch.optim.Adam(fused=True)`` on a GPU (one kernel for all parameters).
``sp_last_only``        SP reads only the last output of its three views: encode them apart from the main
                        view, with the last block computing the last position only (``encode(last_only=True)``).
``packed_pretraining``  Opt-in. The pre-training encoder (:func:`encode_views`) runs on the real tokens only,
                        packed into [N, d] (LastFM: 39% of the B x L slots), with attention per chunk of the
                        batch sorted by length (:class:`PackPlan`). Every dropout mask is drawn over the padded
                        shape, in the padded path's order, and gathered at the real tokens: the random stream,
                        and so every later batch, is unchanged. S3RecModel on a CPU only; other models (and a
                        GPU) encode plainly.
``packed_finetuning``   Opt-in. The same for the fine-tuning loss (:func:`next_item_loss`) and the users'
                        representations in evaluation (:func:`user_representation`; Beauty: 19% real slots).
``packed_fdsa``         Opt-in. The same for FDSA (its two stacks of blocks, item and feature level, on the real
                        tokens), and its attribute pooling for the batch's items only instead of every item's
                        (Beauty: 45,032 item-attribute rows per step, against a few thousand). Apart from
                        ``packed_finetuning`` so that stored FDSA runs made with that flag (which never packed
                        FDSA) still re-run bit for bit.
``fused_adam_cpu``      Opt-in. ``torch.optim.Adam(fused=True)`` on a CPU as well: the plain Adam updates the whole item
                        table (Beauty: 12,103 x 64) in a dozen passes per step, 12% of a packed fine-tuning step.
``bf16_pretraining``    Opt-in, with ``packed_pretraining``, for CPUs with bf16 units (AVX512-BF16, AMX). The packed
                        pre-training encoder's matrix products (W^Q W^K W^V, Q K^T, the attention-weighted V, W^O,
                        the FFN) and its GELU run in bfloat16 with fp32 accumulation, on row counts and attention
                        widths rounded up (oneDNN builds a kernel per shape); the weights, LayerNorm, softmax,
                        dropout, residual stream, objectives and optimiser stay fp32. 4x the fp32 product rate on
                        this CPU; the same batches and dropout masks as fp32. Not the same numbers (the golden
                        test allows 1e-2; measured 3e-4), so the flag enters the fingerprint.
``bf16_finetuning``     Opt-in, with ``packed_finetuning``: the same for the fine-tuning step (:func:`next_item_loss`).
                        Evaluation (early stopping, test) stays fp32.
``compile_step``        Opt-in, for GPUs. The pre-training loss (batch building, the views, the objectives) runs
                        through ``torch.compile``, with CUDA graphs on a GPU (``mode="reduce-overhead"``): an
                        eager step there is bound by kernel launches (19 ms on an H200; 2.2 ms compiled,
                        ``benchmarks/RESULTS.md``). Compiled code draws random numbers from its own stream, so
                        the batches differ from eager ones (the flag enters the fingerprint). Where compiling
                        fails (no C++ compiler, say) the step runs eagerly, after one line on stderr. On a CPU
                        it is slower than the default flags: use it on a GPU.
======================  ======================================================================================

``Config().replace(fast=False)`` (``--no-fast``) turns the first four off: the plain reference path. ``fast`` does not
switch the opt-in flags: the packed ones give the same numbers in fp32 but not bit for bit (sums run in another
order), the others other numbers, so they stay off unless asked for, and stored results re-run bit for bit.

Why packing is exact: a padding key gets -1e8 (bidirectional) or -10000 (causal) before the softmax, which is
exactly 0 after it in fp32, and no loss or score reads the output at a padding position. The packed encoders
return zeros there (the padded path: values that nothing reads).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from .baselines.fdsa import FDSA
from .config import Config
from .model import Dropout, MultiHeadSelfAttention, S3RecModel, attention_mask, scaled_dot_product_attention
from .objectives import finetune_loss


# ------------------------------------------------------------------------------------------------
# byte_dropout
# ------------------------------------------------------------------------------------------------
def keep_mask(shape, keep_prob: float, device) -> torch.Tensor:
    """A Bernoulli(keep_prob) bool mask, drawn from random bytes: 8 (or 4) draws per 64-bit random number.

    Probabilities that are multiples of 1/256 (0.5, the authors' dropout) are exact with bytes; others use
    16-bit draws (error below 1/65536). A byte is kept when it is below keep_prob * 256; for 0.5 that is its top
    bit clear, ``(~byte) >> 7``: 6x faster than ``byte < 128`` on this CPU, and the same mask."""
    n = math.prod(shape)
    if float(keep_prob * 256).is_integer():
        raw = torch.empty((n + 7) // 8, dtype=torch.int64, device=device).random_(-(2**63), None).view(torch.uint8)[:n]
        if keep_prob == 0.5:
            return ((~raw) >> 7).view(torch.bool).view(shape)  # 1 where the top bit is 0, as a bool
        return (raw < int(keep_prob * 256)).view(shape)
    raw = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None).view(torch.int16)[:n]
    return (raw < int(round(keep_prob * 65536)) - 32768).view(shape)


def apply_keep(x: torch.Tensor, keep: torch.Tensor | None, p: float) -> torch.Tensor:
    """Inverted dropout with a given bool keep-mask (broadcastable to x): x / (1 - p) where kept, 0 elsewhere.

    The mask multiplies as bytes (0 or 1; 0 or 2 when 1 / (1 - p) is 2): ``torch.where`` on a bool mask is
    20-40x slower than a multiplication on this CPU. The same numbers as ``x * where(keep, 1 / (1 - p), 0)``,
    bit for bit: each is x times 1 / (1 - p), or x times 0."""
    if keep is None:
        return x
    scale = 1.0 / (1.0 - p)
    if x.device.type != "cpu":
        return x * torch.where(keep, torch.tensor(scale, dtype=x.dtype, device=x.device), 0.0)
    byte = keep.view(torch.uint8)
    if scale == 2.0:
        return x * (byte << 1)  # [*] 0 or 2
    return x * byte * scale


def byte_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout with masks from :func:`keep_mask` on a CPU (``F.dropout`` elsewhere)."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    return apply_keep(x, keep_mask(x.shape, 1.0 - p, x.device), p)


class ByteDropout(Dropout):
    """:class:`~s3rec_lite.model.Dropout` with :func:`byte_dropout` masks."""

    def forward(self, x):
        return byte_dropout(x, self.p, self.training)


# ------------------------------------------------------------------------------------------------
# Applying the flags
# ------------------------------------------------------------------------------------------------
def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): where ``bf16_pretraining`` pays off.
    Elsewhere bf16 products are emulated and 3-7x slower than fp32 (benchmarks/RESULTS.md, 2026-12-07)."""
    try:
        flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def fastest_flags(device: str) -> tuple[dict, str]:
    """The fastest checked path for a new run on ``device`` (the command line's default; ``--reference`` turns it
    off), and one line saying what it chose. On a CPU: the packed encoder for pre-training and fine-tuning (the
    same function, fp32) and the fused Adam, plus bf16 products where the CPU computes bf16 natively. On a GPU: the eager defaults
    (``compile_step`` stays opt-in: it draws other random numbers and compiles for minutes)."""
    if device_is_cuda(device):
        return {}, "speed: the default GPU path (--set compile_step=true compiles the pre-training step)"
    flags = {"packed_pretraining": True, "packed_finetuning": True, "fused_adam_cpu": True, "packed_fdsa": True}
    if native_bf16():
        flags.update(bf16_pretraining=True, bf16_finetuning=True)
        return flags, "speed: packed encoder, bf16 products (this CPU has native bf16); --reference for the plain path"
    return flags, ("speed: packed encoder in fp32 (this CPU has no native bf16, where bf16 would be slower); "
                   "--reference for the plain path")


def device_is_cuda(device: str) -> bool:
    return str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available())


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
    """Adam with the config's betas and weight decay; ``fused_adam`` on a GPU, ``fused_adam_cpu`` on a CPU."""
    kwargs = dict(lr=lr, betas=tuple(cfg.adam_betas), weight_decay=cfg.weight_decay)
    if (cfg.fused_adam and device.type == "cuda") or (cfg.fused_adam_cpu and device.type == "cpu"):
        kwargs["fused"] = True
    return torch.optim.Adam(model.parameters(), **kwargs)


# ------------------------------------------------------------------------------------------------
# compile_step
# ------------------------------------------------------------------------------------------------
class Compiled:
    """``fn`` through ``torch.compile`` (CUDA graphs on a GPU), falling back to ``fn`` itself, with one line on
    stderr, if compilation fails. Shapes are static: the last, smaller batch of an epoch compiles once more."""

    def __init__(self, fn, device: torch.device):
        self.fn, self.cuda = fn, torch.device(device).type == "cuda"
        self.compiled = torch.compile(fn, mode="reduce-overhead" if self.cuda else None, dynamic=False)
        self.failed = False

    def __call__(self, *args, **kwargs):
        if not self.failed:
            try:
                if self.cuda:  # a new training iteration: earlier CUDA-graph outputs may be overwritten
                    torch.compiler.cudagraph_mark_step_begin()
                return self.compiled(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any compiler failure: run eagerly instead
                import sys

                first = (str(exc).strip().splitlines() or [""])[0][:160]
                print(f"note: compile_step: torch.compile failed ({type(exc).__name__}: {first}); "
                      "running the step eagerly", file=sys.stderr)
                self.failed = True
        return self.fn(*args, **kwargs)


def compiled(fn, cfg: Config, device: torch.device):
    """``fn`` compiled when ``cfg.compile_step`` is on (:class:`Compiled`), else ``fn`` unchanged."""
    return Compiled(fn, device) if cfg.compile_step else fn


# ------------------------------------------------------------------------------------------------
# sp_last_only: the pre-training views
# ------------------------------------------------------------------------------------------------
def encode_views(model, batch, causal: bool, needs_segments: bool, sp_last_only: bool, packed: bool = False,
                 bf16: bool = False):
    """The encodings the objectives read: the masked sequence [B, L, d] and, if SP is active, the last output
    of its three views (context, positive and negative segment), each [B, d].

    Plain: one encoder pass over all four views stacked, [4B, L]. ``sp_last_only``: the main view alone, then
    the three SP views with the last block computing only their last position (the same numbers, less work).
    ``packed`` (the flag ``packed_pretraining``): the same passes by :func:`encode_packed` (zeros at padding);
    ``bf16`` (``bf16_pretraining``) runs their matrix products in bfloat16."""
    B = batch.inputs.shape[0]
    segment_views = [batch.segment_context, batch.segment_pos, batch.segment_neg] if needs_segments else []
    encode = model.encode
    if packed and can_pack(model) and all(packable(v, last_only=True) for v in segment_views):
        encode = partial(encode_packed, model, low=torch.bfloat16 if bf16 else None)
    if not needs_segments:
        return encode(batch.inputs, causal=causal), None, None, None
    if not sp_last_only:
        views = torch.cat([batch.inputs, *segment_views])  # [4B, L]
        encoded = encode(views, causal=causal)  # [4B, L, d]
        seg_ctx, seg_pos, seg_neg = encoded[B:, -1].split(B)  # each [B, d]: the output at the last position
        return encoded[:B], seg_ctx, seg_pos, seg_neg
    hidden = encode(batch.inputs, causal=causal)  # [B, L, d]
    views = torch.cat(segment_views)  # [3B, L]
    seg_ctx, seg_pos, seg_neg = encode(views, causal=causal, last_only=True).split(B)  # each [B, d]
    return hidden, seg_ctx, seg_pos, seg_neg


# ------------------------------------------------------------------------------------------------
# packed_pretraining, packed_finetuning: the encoder on the real tokens only
# ------------------------------------------------------------------------------------------------
#: Attention runs per chunk of the batch sorted by length (1 chunk: 1.59x, 2: 1.91x, 4: 2.07x, 6: 2.01x the
#: padded pre-training step on LastFM, speedlab's measurements).
N_CHUNKS = 4


def packs_finetuning(model: nn.Module, cfg: Config) -> bool:
    """Whether ``cfg`` asks for the packed fine-tuning path of ``model``: ``packed_fdsa`` for FDSA,
    ``packed_finetuning`` for the others (:func:`can_pack_finetuning` then says whether there is one)."""
    return cfg.packed_fdsa if type(model) is FDSA else cfg.packed_finetuning


def can_pack(model: nn.Module) -> bool:
    """Packing replays :meth:`S3RecModel.encode` step by step: that class exactly (a subclass may change
    ``embed`` or ``encode``: SASRec_F, BERT4Rec), with its parameters on a CPU (the masks are CPU draws)."""
    return type(model) is S3RecModel and can_pack_on(model)


def can_pack_on(model: nn.Module) -> bool:
    """The packed paths draw their dropout masks on the CPU: the model's parameters must be there too."""
    return model.item_embeddings.weight.device.type == "cpu"


def can_pack_finetuning(model: nn.Module) -> bool:
    """Packed fine-tuning and evaluation: :func:`can_pack`'s S3RecModel, or FDSA (whose packed encoder replays
    :meth:`FDSA.encode`, causal only), on a CPU."""
    return can_pack(model) or (type(model) is FDSA and can_pack_on(model))


def packable(ids: torch.Tensor, last_only: bool = False) -> bool:
    """Whether the packed encoder gives what ``encode`` gives for ``ids`` [B, L]: some real token, and with
    ``last_only`` a real token at every last position (the padded path's output at a padding position is a
    well-defined value that the packed path never computes)."""
    return bool((ids[:, -1] > 0).all()) if last_only else bool((ids > 0).any())


# --- dropout: the padded path's masks ------------------------------------------------------------
def draw_keep(dropout: nn.Module, shape) -> torch.Tensor | None:
    """The bool keep-mask ``dropout`` would draw for an input of ``shape``, from the same random numbers: the
    byte masks of :class:`ByteDropout`, or what ``F.dropout`` draws on a CPU (``native_dropout``: a bool
    ``bernoulli_(1 - p)`` of the input's shape). None where the module is the identity (eval mode, p = 0)."""
    if not dropout.training or dropout.p == 0.0:
        return None
    if isinstance(dropout, ByteDropout):
        return keep_mask(shape, 1.0 - dropout.p, "cpu")
    return torch.empty(shape, dtype=torch.bool).bernoulli_(1.0 - dropout.p)


def _dropout_rows(dropout: nn.Module, x: torch.Tensor, shape, rows: torch.Tensor | None) -> torch.Tensor:
    """``dropout`` on packed rows: draw the mask of the padded ``shape`` [B, Lq, d], keep its ``rows`` (indices
    into the flattened B x Lq slots; None: every slot), apply.  x [N, d] -> [N, d]"""
    keep = draw_keep(dropout, shape)
    if keep is None:
        return x
    keep = keep.reshape(-1, shape[-1])  # [B*Lq, d]
    return apply_keep(x, keep if rows is None else keep[rows], dropout.p)


# --- the plan: where the real tokens are, and the attention chunks -------------------------------
@dataclass
class Chunk:
    """Sequences attended together: their slots inside the last ``width`` columns (all their real tokens)."""

    seqs: torch.Tensor  # [b] which sequences of the batch
    width: int  # w
    slots: torch.Tensor  # [b, w] packed row of each slot; N (a zero row) at padding
    mask: torch.Tensor  # additive attention mask of the window, [b, 1, 1, w] or (causal) [b, 1, w, w]


class PackPlan:
    """Packing of item ids [B, L]: the real tokens in row-major order as rows 0..N-1, and attention chunks.

    The batch is sorted by span (columns from the first real token to the end; left padding: the length)
    and cut into ``n_chunks`` chunks; each chunk attends within its last ``width`` columns only."""

    def __init__(self, ids: torch.Tensor, causal: bool, n_chunks: int = N_CHUNKS, width_multiple: int = 1):
        B, L = ids.shape
        real = ids > 0  # [B, L]
        self.B, self.L = B, L
        self.rows = real.reshape(-1).nonzero().squeeze(1)  # [N] flat slot b*L + t of each real token
        self.positions = self.rows % L  # [N] its position t
        self.N = N = len(self.rows)
        slot_row = torch.full((B * L,), N, dtype=torch.long)  # slot -> packed row; N at padding
        slot_row[self.rows] = torch.arange(N)
        slot_row = slot_row.view(B, L)
        self.last = slot_row[:, -1]  # [B] packed row of each last position (N where it is padding)
        first = torch.where(real.any(1), real.int().argmax(1), torch.full((B,), L))  # [B] first real column
        span = (L - first).tolist()
        self.chunks: list[Chunk] = []
        self.out_rows = torch.empty(N, dtype=torch.long)  # packed row -> row of the chunks' concatenated outputs
        self.out_last = torch.empty(B, dtype=torch.long)  # sequence -> row of the last-query outputs
        offset = offset_last = 0
        for seqs in torch.argsort(torch.tensor(span), stable=True).tensor_split(n_chunks):
            w = max((span[i] for i in seqs.tolist()), default=0)
            if w == 0:  # empty, or sequences without real tokens (no rows, nothing to attend)
                continue
            w = min(L, -(-w // width_multiple) * width_multiple)  # extra columns: padding for all of the chunk
            slots = slot_row[seqs, L - w:]  # [b, w]
            flat = slots.reshape(-1)
            is_real = flat < N
            self.out_rows[flat[is_real]] = offset + torch.arange(len(flat))[is_real]
            self.out_last[seqs] = offset_last + torch.arange(len(seqs))
            offset, offset_last = offset + len(flat), offset_last + len(seqs)
            self.chunks.append(Chunk(seqs, w, slots, attention_mask(ids[seqs, L - w:], causal)))
        self.slots = torch.cat([c.slots.reshape(-1) for c in self.chunks])  # [M] every chunk's slots, in order
        self.sizes = [c.slots.numel() for c in self.chunks]


# --- the encoder on packed rows ------------------------------------------------------------------
def _chunked_attention(attention: MultiHeadSelfAttention, qkv: torch.Tensor, plan: PackPlan, last_only: bool,
                       keep_probs: torch.Tensor | None) -> torch.Tensor:
    """Eq. 4-6 before W^O, chunk by chunk.  qkv [N, 3d] -> context [N, d] (``last_only``: [B, d]).

    ``keep_probs``: the keep-mask of the padded path's attention probabilities, [B, h, L, L] ([B, h, 1, L]).
    A bf16 ``qkv`` (``bf16_pretraining``) gives a bf16 context, with the softmax and its dropout in fp32."""
    d, h = qkv.shape[1] // 3, attention.num_heads
    qkv = torch.cat([qkv, qkv.new_zeros(1, 3 * d)])  # [N + 1, 3d]: row N for the padding slots
    # one gather for all chunks, then views (gathers and slices per chunk cost 2-4x more in backward)
    windows = qkv.index_select(0, plan.slots).split(plan.sizes)  # [b * w, 3d] per chunk
    attend = scaled_dot_product_attention if qkv.dtype == torch.float32 else _attention_low_precision
    outputs = []
    for c, window in zip(plan.chunks, windows):
        b, w = c.slots.shape
        q, k, v = window.view(b, w, 3, h, d // h).permute(2, 0, 3, 1, 4)  # each [b, h, w, d/h]
        mask = c.mask
        if last_only:  # only the newest position asks
            q, mask = q[:, :, -1:], mask[:, :, -1:]  # [b, h, 1, d/h], [b, 1, 1, w]
        dropout = None
        if keep_probs is not None:
            keep = keep_probs[c.seqs, :, -q.shape[2]:, plan.L - w:]  # [b, h, w or 1, w]
            dropout = partial(apply_keep, keep=keep, p=attention.prob_dropout.p)
        ctx = attend(q, k, v, mask, dropout)  # Eq. 6, [b, h, w or 1, d/h]
        outputs.append(ctx.transpose(1, 2).reshape(-1, d))  # [b * (w or 1), d]
    return torch.cat(outputs).index_select(0, plan.out_last if last_only else plan.out_rows)


def _attention_low_precision(q, k, v, mask, dropout):
    """Eq. 6 with bf16 q, k, v: the two products in bf16, the scores, softmax and dropout in fp32."""
    scores = (q @ k.transpose(-1, -2)).float() / math.sqrt(q.shape[-1])  # [b, h, w, w]
    probs = torch.softmax(scores + mask, dim=-1)
    if dropout is not None:
        probs = dropout(probs)
    return probs.to(v.dtype) @ v  # [b, h, w, d/h]


#: bf16 products run on row counts rounded up to a multiple of this: oneDNN builds a kernel for every new shape
#: (0.4 ms each on this CPU), and packed row counts differ from batch to batch.
ROW_BUCKET = 256
#: and attention windows on widths rounded up to a multiple of this (7 widths, not 50: oneDNN's kernel cache
#: holds 1024 kernels, and the bmm shapes of 50 widths overflow it; the extra columns are padding, masked)
BF16_WIDTH_MULTIPLE = 8


def _bucketed(x: torch.Tensor, low: torch.dtype) -> torch.Tensor:
    """x [n, k] in ``low``, with zero rows up to a multiple of ROW_BUCKET (the caller slices them off)."""
    return F.pad(x.to(low), (0, 0, 0, -x.shape[0] % ROW_BUCKET))


def _product(layer: nn.Linear, x: torch.Tensor, low: torch.dtype) -> torch.Tensor:
    """``layer(x)`` with x, W and b in ``low`` (bf16): the output in ``low``, accumulated in fp32 by oneDNN."""
    return F.linear(x, layer.weight.to(low), layer.bias.to(low))


def _linear(layer: nn.Linear, x: torch.Tensor, low: torch.dtype | None) -> torch.Tensor:
    """``layer(x)``, or with ``low`` its product in that dtype (on bucketed rows), the output in ``low``.
    x [n, in] -> [n, out]"""
    if low is None:
        return layer(x)
    return _product(layer, _bucketed(x, low), low)[:x.shape[0]]


def _ffn(ffn, x: torch.Tensor, low: torch.dtype | None) -> torch.Tensor:
    """Eq. 7-8, ``ffn(x)``; with ``low``, both products and the GELU between them in that dtype (on bucketed
    rows: oneDNN's GELU also builds a kernel per shape). x [n, d] -> [n, d] fp32"""
    if low is None:
        return ffn(x)
    hidden = F.gelu(_product(ffn.dense_1, _bucketed(x, low), low))  # [n rounded up, 4d]
    return _product(ffn.dense_2, hidden, low)[:x.shape[0]].float()


def _packed_block(block, x: torch.Tensor, plan: PackPlan, last_only: bool, low: torch.dtype | None = None) -> torch.Tensor:
    """:class:`~s3rec_lite.model.Block` on packed rows.  x [N, d] -> [N, d] (``last_only``: [B, d]).
    ``low`` (bf16, ``bf16_pretraining``): the matrix products and the FFN's GELU in that dtype; LayerNorm,
    softmax, dropout and the residual stream stay fp32."""
    attention, (B, L), d = block.attention, (plan.B, plan.L), x.shape[1]
    lq = 1 if last_only else L  # query positions of the padded path
    rows = None if last_only else plan.rows  # which of its B x lq slots are computed here
    keep_probs = draw_keep(attention.prob_dropout, (B, attention.num_heads, lq, L))
    ctx = _chunked_attention(attention, _linear(attention.qkv, x, low), plan, last_only, keep_probs)
    attended = _linear(attention.out, ctx, low).float()  # [N, d]
    residual = x[plan.last] if last_only else x
    x = block.attention_norm(residual + _dropout_rows(block.dropout, attended, (B, lq, d), rows))
    return block.ffn_norm(x + _dropout_rows(block.dropout, _ffn(block.ffn, x, low), (B, lq, d), rows))


def packed_rows(model: S3RecModel, ids: torch.Tensor, plan: PackPlan, last_only: bool = False,
                low: torch.dtype | None = None) -> torch.Tensor:
    """:meth:`S3RecModel.encode` on the real tokens of ``ids`` [B, L] only, with the padded path's dropout draws.
    -> [N, d] in ``plan.rows`` order (``last_only``: [B, d], needs every last position real)."""
    B, L = ids.shape
    d = model.arch.hidden_size
    x = model.item_embeddings(ids.reshape(-1)[plan.rows]) + model.position_embeddings(plan.positions)  # [N, d]
    x = _dropout_rows(model.embedding_dropout, model.embedding_norm(x), (B, L, d), plan.rows)
    for i, block in enumerate(model.blocks):
        x = _packed_block(block, x, plan, last_only and i == len(model.blocks) - 1, low)
    return x


def packed_rows_fdsa(model: FDSA, ids: torch.Tensor, plan: PackPlan, last_only: bool = False) -> torch.Tensor:
    """:meth:`FDSA.encode` (causal) on the real tokens of ``ids`` [B, L] only, with the padded path's dropout draws
    in its order (item stream, feature stream, the item blocks, the feature blocks), and each item's attribute
    pooling computed once for the batch's items.  -> [N, d] in ``plan.rows`` order (``last_only``: [B, d])."""
    B, L = ids.shape
    d = model.arch.hidden_size
    real = ids.reshape(-1)[plan.rows]  # [N] item ids of the real tokens
    items = model.item_embeddings(real) + model.item_positions(plan.positions)  # [N, d]
    items = _dropout_rows(model.dropout, model.item_norm(items), (B, L, d), plan.rows)
    batch_items, which = torch.unique(real, return_inverse=True)  # [U] sorted; [N] each token's row among them
    feats = model.item_features(batch_items)[which] + model.feature_positions(plan.positions)  # [N, d] f_i + p_t
    feats = _dropout_rows(model.dropout, model.feature_norm(feats), (B, L, d), plan.rows)
    for i, block in enumerate(model.item_blocks):
        items = _packed_block(block, items, plan, last_only and i == len(model.item_blocks) - 1)
    for i, block in enumerate(model.feature_blocks):
        feats = _packed_block(block, feats, plan, last_only and i == len(model.feature_blocks) - 1)
    return model.output(torch.cat([items, feats], dim=-1))  # W_O [O^item ; O^feature] + b_O


def _packed_hidden(model, ids: torch.Tensor, plan: PackPlan, last_only: bool = False,
                   low: torch.dtype | None = None) -> torch.Tensor:
    """The packed encoder of ``model`` (S3RecModel or FDSA; FDSA in fp32 only)."""
    if type(model) is FDSA:
        return packed_rows_fdsa(model, ids, plan, last_only)
    return packed_rows(model, ids, plan, last_only, low)


def encode_packed(model: S3RecModel, ids: torch.Tensor, causal: bool, last_only: bool = False,
                  low: torch.dtype | None = None) -> torch.Tensor:
    """``model.encode(ids, causal, last_only)`` by :func:`packed_rows`: [B, L, d], zeros at padding (values the
    padded path computes and nothing reads), or [B, d]. ``model.encode`` itself where ``ids`` is not
    :func:`packable`."""
    if not packable(ids, last_only):
        return model.encode(ids, causal=causal, last_only=last_only)
    plan = PackPlan(ids, causal, width_multiple=1 if low is None else BF16_WIDTH_MULTIPLE)
    x = _packed_hidden(model, ids, plan, last_only, low)  # [N, d] or [B, d]
    if last_only:
        return x
    B, L = ids.shape
    return x.new_zeros(B * L, x.shape[1]).index_copy(0, plan.rows, x).view(B, L, -1)  # [B, L, d]


def next_item_loss(model, x: torch.Tensor, y: torch.Tensor, neg: torch.Tensor, variant: str = "official",
                   packed: bool = False, bf16: bool = False) -> torch.Tensor:
    """``model.next_item_loss(x, y, neg, variant)``; with ``packed`` (the flag ``packed_finetuning``, or
    ``packed_fdsa``: :func:`packs_finetuning`) and an S3RecModel or FDSA, the same loss (Recommender.next_item_logits and finetune_loss) at the real positions only;
    ``bf16`` (``bf16_finetuning``): the encoder's products in bfloat16.  x, y, neg [B, L] -> scalar."""
    if not (packed and can_pack_finetuning(model) and packable(x)) or bool(((y > 0) & (x == 0)).any()):
        return model.next_item_loss(x, y, neg, variant)  # (a target at a padding input: the padded path)
    low = torch.bfloat16 if bf16 else None
    if type(model) is FDSA:
        low = None  # FDSA's packed encoder is fp32 only
    plan = PackPlan(x, causal=True, width_multiple=1 if low is None else BF16_WIDTH_MULTIPLE)
    hidden = _packed_hidden(model, x, plan, low=low)  # [N, d] F_t at the real positions
    targets, negatives = y.reshape(-1)[plan.rows], neg.reshape(-1)[plan.rows]  # [N]
    pos = (hidden * model.item_embeddings(targets)).sum(-1)  # [N] e_{i_{t+1}}^T F_t
    negative = (hidden * model.item_embeddings(negatives)).sum(-1)  # [N] e_j^T F_t
    return finetune_loss(pos, negative, targets > 0, variant)  # every target of [B, L] is among the N rows


def user_representation(model, x: torch.Tensor, packed: bool = False) -> torch.Tensor:
    """``model.user_representation(x)``; with ``packed`` (``packed_finetuning``, or ``packed_fdsa``) and an
    S3RecModel or FDSA, the newest position's causal output by the packed encoder.  [B, L] -> [B, d]"""
    if packed and can_pack_finetuning(model):
        return encode_packed(model, x, causal=True, last_only=True)
    return model.user_representation(x)
