"""The interface every model of the package implements, so that one training loop serves them all.

The loops (:mod:`s3rec_lite.train`) never ask what a model is; they call this interface:

* ``encode(item_ids, causal, last_only) -> [B, L, d]`` (``[B, d]`` with ``last_only``): the one method a model
  writes; ``causal`` asks for attention to the past only (fine-tuning), ``False`` for both directions
  (S3-Rec's pre-training), which a unidirectional model ignores;
* ``next_item_loss(x, y, neg, variant)``: the fine-tuning loss of a batch (default: the released code's BCE
  on the logits of the true next item and one sampled item at every position, Eq. 9);
* ``user_representation``, ``score_candidates``, ``score_all``: evaluation (Eq. 9, dot products with the item
  embedding table unless a model overrides them);
* two declared properties: ``causal_pretraining`` (encode causally in pre-training too, as the paper keeps
  unidirectional models in Fig. 3) and ``trainable`` (False: a counting model such as PopRec, only evaluated).

A model built from an :class:`~s3rec_lite.config.Architecture` knows nothing of how it is run (device,
speed flags, seeds).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .config import Architecture, Config
from .objectives import finetune_loss


def init_weights(module: nn.Module, std: float) -> None:
    """The authors' initialisation: N(0, std) for every weight (padding rows too), zero biases, LayerNorm at
    identity. Use as ``model.apply(lambda m: init_weights(m, arch.init_std))``."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def as_architecture(arch: Architecture | Config) -> Architecture:
    """A model's constructor takes an Architecture; a whole Config is accepted and reduced to its ``arch``."""
    return arch.arch if isinstance(arch, Config) else arch


class Recommender(nn.Module):
    """Base class: the item table, the scoring interface and the fine-tuning loss of the shared loop.

    ``item_vocab_size`` = number of items + 2 (padding 0 and the mask token, the last id);
    ``attribute_vocab_size`` = largest attribute id + 1 (padding 0)."""

    zoo_name = "?"  # the zoo's name for the model (checkpoints record it)
    causal_pretraining = True  # a unidirectional model stays unidirectional in pre-training (Fig. 3)
    trainable = True  # False: nothing to learn (PopRec), the loop only evaluates

    def __init__(self, arch: Architecture | Config, item_vocab_size: int, attribute_vocab_size: int):
        super().__init__()
        self.arch = as_architecture(arch)
        self.item_vocab_size, self.attribute_vocab_size = item_vocab_size, attribute_vocab_size
        self.item_embeddings = nn.Embedding(item_vocab_size, self.arch.hidden_size, padding_idx=0)  # E_I

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.arch.init_std)

    @property
    def mask_id(self) -> int:
        return self.item_vocab_size - 1

    def encode(self, item_ids: torch.Tensor, causal: bool = True, last_only: bool = False) -> torch.Tensor:
        """[B, L] -> [B, L, d] (``last_only``: [B, d], the newest position)."""
        raise NotImplementedError

    # --- evaluation (Eq. 9) ----------------------------------------------------------------------------
    def user_representation(self, item_ids: torch.Tensor) -> torch.Tensor:
        """The output at the newest position, F_t^L.  [B, L] -> [B, d]"""
        return self.encode(item_ids, causal=True, last_only=True)

    def score_candidates(self, hidden: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Eq. 9, e_i^T F_t for given candidates.  hidden [B, d], candidates [B, C] -> scores [B, C]."""
        return torch.einsum("bcd,bd->bc", self.item_embeddings(candidates), hidden)

    def score_all(self, hidden: torch.Tensor) -> torch.Tensor:
        """Eq. 9 against the whole item vocabulary.  hidden [B, d] -> scores [B, V]"""
        return hidden @ self.item_embeddings.weight.T

    # --- fine-tuning --------------------------------------------------------------------------------
    def next_item_logits(self, item_ids, targets, negatives):
        """Scores at every position of the true next item and of a sampled one.
        item_ids, targets, negatives [B, L] -> (pos_logits, neg_logits), each [B, L]."""
        hidden = self.encode(item_ids, causal=True)  # [B, L, d]
        pos = (hidden * self.item_embeddings(targets)).sum(-1)  # e_{i_{t+1}}^T F_t
        neg = (hidden * self.item_embeddings(negatives)).sum(-1)  # e_j^T F_t
        return pos, neg

    def next_item_loss(self, item_ids, targets, negatives, variant: str = "official") -> torch.Tensor:
        """The fine-tuning loss of one batch (a model with its own objective, BERT4Rec, overrides it)."""
        pos, neg = self.next_item_logits(item_ids, targets, negatives)  # [B, L] each
        return finetune_loss(pos, neg, targets > 0, variant)
