"""Pre-training and fine-tuning batches built with tensor operations on the training device.

No per-sample Python: a batch is a set of prefix indices, and everything else (the window of the last
``max_len`` items, masking, negative sampling, segment choice, attribute targets) is gathered or drawn
for the whole batch at once, from tensors that live on the device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def sample_excluding(excluded_sorted: torch.Tensor, high: int, shape: tuple) -> torch.Tensor:
    """Uniform draws from {1..high} minus each row's excluded set, exactly, with no rejection loop.

    excluded_sorted [B, M]: each row's excluded ids in increasing order, distinct, padded at the end with
    a value > high. Returns [B, *shape]. The u-th allowed value is u + 1 + #{k : s_k - k - 1 <= u}, where
    s_k - k - 1 counts the allowed values below the k-th excluded one.
    """
    B, M = excluded_sorted.shape
    valid = excluded_sorted <= high  # [B, M]
    n_allowed = high - valid.sum(1)  # [B]
    below = excluded_sorted - torch.arange(M, device=excluded_sorted.device) - 1  # [B, M] allowed values below s_k
    below = torch.where(valid, below, torch.full_like(below, torch.iinfo(below.dtype).max))
    rand = torch.rand((B, *shape), device=excluded_sorted.device, dtype=torch.float64)
    view = (B,) + (1,) * len(shape)
    u = (rand * n_allowed.view(view)).long()  # [B, *shape] rank among the allowed values
    u = torch.minimum(u, (n_allowed - 1).view(view))
    counts = torch.searchsorted(below, u.reshape(B, -1), right=True).view(u.shape)  # #{k : below_k <= u}
    return u + 1 + counts


def distinct_sorted(items: torch.Tensor, sentinel: int) -> torch.Tensor:
    """Each row's distinct non-zero ids in increasing order, padded with ``sentinel``.  [B, L] -> [B, L]"""
    s = torch.where(items > 0, items, torch.full_like(items, sentinel)).sort(dim=1).values
    dup = torch.zeros_like(s, dtype=torch.bool)
    dup[:, 1:] = s[:, 1:] == s[:, :-1]
    return torch.where(dup, torch.full_like(s, sentinel), s).sort(dim=1).values


@dataclass
class PretrainBatch:
    """One pre-training batch. B samples (prefixes), L = max_len, K negatives per masked item."""

    items: torch.Tensor  # [B, L] the prefix, left-padded with 0 (the original, unmasked items)
    inputs: torch.Tensor  # [B, L] the same with masked positions replaced by mask_id (MIP/MAP/AAP view)
    masked_positions: torch.Tensor  # [B, L] bool, where MIP and MAP are computed
    aap_positions: torch.Tensor  # [B, L] bool, unmasked real items (official AAP)
    negative_items: torch.Tensor  # [B, L, K] items not in the prefix (meaningful at masked positions)
    segment_context: torch.Tensor  # [B, L] the prefix with one segment replaced by mask_id
    segment_pos: torch.Tensor  # [B, L] the segment in place, mask_id elsewhere (0 at padding)
    segment_neg: torch.Tensor  # [B, L] a segment of the same length cut from the corpus, same layout
    lengths: torch.Tensor  # [B] prefix lengths


class PretrainCorpus:
    """Every prefix of every user's pre-training part ``seq[-(max_len+2):-2]`` (the authors' samples).

    The parts are concatenated into one flat tensor (the corpus the negative segments are cut from);
    a prefix is identified by where it ends and how long it is.
    """

    def __init__(self, parts: list[np.ndarray], max_len: int, n_items: int, device: torch.device | str = "cpu"):
        parts = [np.asarray(p[-max_len:], dtype=np.int64) for p in parts if len(p)]
        self.max_len, self.n_items, self.mask_id = max_len, n_items, n_items + 1
        self.device = torch.device(device)
        lengths = np.array([len(p) for p in parts])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        # prefix (u, i) ends after position starts[u] + i and has length i + 1
        prefix_len = np.concatenate([np.arange(1, n + 1) for n in lengths])
        prefix_end = np.repeat(starts, lengths) + prefix_len
        self.flat = torch.as_tensor(np.concatenate(parts), device=self.device)  # [T] all parts back to back
        self.prefix_end = torch.as_tensor(prefix_end, device=self.device)  # [P]
        self.prefix_len = torch.as_tensor(prefix_len, device=self.device)  # [P]
        self._window = torch.arange(max_len, device=self.device)  # [L]

    def __len__(self) -> int:
        return len(self.prefix_len)

    def gather(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded windows of the prefixes ``idx``: (items [B, L], lengths [B])."""
        L = self.max_len
        end, length = self.prefix_end[idx], self.prefix_len[idx]  # [B]
        src = end[:, None] - L + self._window[None, :]  # [B, L] flat index of each slot
        real = self._window[None, :] >= (L - length)[:, None]  # [B, L]
        items = torch.where(real, self.flat[src.clamp(min=0)], torch.zeros_like(src))
        return items, length

    def batch(self, idx: torch.Tensor, mask_ratio: float, num_negatives: int = 1, variant: str = "official") -> PretrainBatch:
        """Build one batch: masking for MIP/MAP, negatives for MIP, the three views for SP."""
        items, length = self.gather(idx)  # [B, L], [B]
        B, L = items.shape
        dev, mask_id = items.device, self.mask_id
        real = items > 0  # [B, L]
        pos = self._window[None, :]  # [1, L]

        # --- MIP/MAP masking: each item with probability p; the newest always in `official` ----------
        masked = (torch.rand(B, L, device=dev) < mask_ratio) & real
        if variant == "official":
            masked[:, -1] = True  # the newest item (always a real one) is always masked
        inputs = torch.where(masked, torch.full_like(items, mask_id), items)

        # --- negatives: items not in this prefix; `official` draws from 1..mask_id as the released code
        high = mask_id if variant == "official" else self.n_items
        excluded = distinct_sorted(items, sentinel=high + 1)  # [B, L]
        negatives = sample_excluding(excluded, high, (L, num_negatives))  # [B, L, K]

        # --- SP: a segment of length in [1, len/2] at a uniform start; prefixes shorter than 2 keep the
        #     whole sequence in all three views (their SP loss is a constant).
        has_segment = length >= 2  # [B]
        half = torch.clamp(length // 2, min=1)
        seg_len = 1 + (torch.rand(B, device=dev) * half).long().clamp(max=half - 1)  # [B] in 1..len//2
        n_starts = length - seg_len + 1
        start = (torch.rand(B, device=dev) * n_starts).long().clamp(max=n_starts - 1)  # [B] 0..len-seg_len
        n_neg_starts = len(self.flat) - seg_len + 1
        neg_start = (torch.rand(B, device=dev, dtype=torch.float64) * n_neg_starts).long()
        neg_start = torch.minimum(neg_start, n_neg_starts - 1)  # [B]
        rel = pos - (L - length)[:, None]  # [B, L] index inside the prefix (negative at padding)
        in_seg = (rel >= start[:, None]) & (rel < (start + seg_len)[:, None]) & has_segment[:, None]
        outside = real & ~in_seg & has_segment[:, None]
        mask_tok = torch.full_like(items, mask_id)
        segment_context = torch.where(in_seg, mask_tok, items)
        segment_pos = torch.where(outside, mask_tok, items)
        neg_src = (neg_start[:, None] + rel - start[:, None]).clamp(0, len(self.flat) - 1)  # [B, L]
        segment_neg = torch.where(in_seg, self.flat[neg_src], segment_pos)

        return PretrainBatch(
            items=items, inputs=inputs, masked_positions=masked, aap_positions=real & ~masked,
            negative_items=negatives, segment_context=segment_context, segment_pos=segment_pos,
            segment_neg=segment_neg, lengths=length,
        )
