"""Checks that students call from the course assignments (``book/assignments``).

Each ``check_*`` function takes the student's function, runs it on fresh random inputs (several shapes,
masks and edge cases such as all-padding rows, ties or empty selections) and compares it with the
package's reference implementation. On success it prints one line starting with ``PASSED`` and returns
a :class:`CheckResult`; on the first disagreement it raises :class:`CheckFailed` (an ``AssertionError``)
whose message says which input failed, what was expected and what came back. A student function that
still raises ``NotImplementedError`` (the released stub) gets a ``NotImplementedError`` with a hint.

References:
    attention          s3rec_lite.model.attention_mask / scaled_dot_product_attention   (Eq. 4-6)
    evaluation         s3rec_lite.metrics.rank_of_first / metrics_from_ranks             (Section 4.1)
    MIP and MAP        s3rec_lite.objectives.mip_loss / map_loss, variant "official"      (Eq. 12-15)
    masking            s3rec_lite.batches.PretrainCorpus.batch (its masking rule)
    segment prediction s3rec_lite.objectives.sp_loss and the segment rule of PretrainCorpus.batch (Eq. 16-17)
    a new objective    s3rec_lite.objectives.register_objective and s3rec_lite.train.pretrain_losses
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .. import metrics as _metrics
from .. import model as _model
from .. import objectives as _objectives

__all__ = [
    "CheckFailed", "CheckResult", "check_attention_mask", "check_attention", "check_rank", "check_metrics",
    "check_negatives", "check_masking", "check_mip_loss", "check_map_loss", "check_segment_sampling",
    "check_segment_views", "check_sp_loss", "check_objective",
]


class CheckFailed(AssertionError):
    """A check found a difference between the student's function and the reference."""


@dataclass
class CheckResult:
    name: str
    cases: int
    details: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, cases={self.cases})"


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def _fmt(x, limit: int = 6) -> str:
    """A short, readable rendering of a tensor / array / number for failure messages."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dim() == 0:
            return f"{x.item():.6g}" if x.is_floating_point() else str(x.item())
        flat = x.reshape(-1)
        vals = ", ".join(f"{v:.4g}" if x.is_floating_point() else str(int(v)) for v in flat[:limit].tolist())
        more = ", ..." if flat.numel() > limit else ""
        return f"tensor(shape={list(x.shape)}, [{vals}{more}])"
    if isinstance(x, np.ndarray):
        return _fmt(torch.as_tensor(x), limit)
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def _call(name: str, fn: Callable, *args, **kwargs):
    """Call the student's function; turn the released stub's NotImplementedError into a clear hint."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise NotImplementedError(
            f"{name}: your function still raises NotImplementedError. Replace the line "
            "`raise NotImplementedError()` under `# YOUR CODE HERE` with your implementation, run that cell, "
            "then run this check again."
        ) from exc


def _as_tensor(name: str, value, what: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value)
    if not isinstance(value, torch.Tensor):
        raise CheckFailed(f"{name}: {what} should be a torch.Tensor, got {type(value).__name__}: {_fmt(value)}")
    return value


def _compare(name: str, case: str, got, expected: torch.Tensor, atol=1e-5, rtol=1e-4, what="output") -> None:
    got = _as_tensor(name, got, what)
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(f"{name}, case {case}: {what} has shape {list(got.shape)}, expected {list(expected.shape)}")
    got = got.detach().to(torch.float64)
    exp = expected.detach().to(torch.float64)
    bad_nan = torch.isnan(got) & ~torch.isnan(exp)
    if bad_nan.any():
        where = tuple(int(i) for i in torch.nonzero(bad_nan)[0])
        raise CheckFailed(f"{name}, case {case}: {what} is NaN at index {where}; expected {_fmt(exp[where])}")
    close = torch.isclose(got, exp, atol=atol, rtol=rtol)
    if not close.all() and got.dim() == 0:
        ratio = float(got / exp) if float(exp) != 0 else float("nan")
        hint = f" (your value is {ratio:.3g} times the expected one: averaged instead of summed?)" if ratio < 1 else ""
        raise CheckFailed(f"{name}, case {case}: {what} is {got.item():.6g}, expected {exp.item():.6g}{hint}")
    if not close.all():
        where = tuple(int(i) for i in torch.nonzero(~close)[0])
        n_bad = int((~close).sum())
        raise CheckFailed(
            f"{name}, case {case}: {what} differs from the reference at index {where} "
            f"(and {n_bad - 1} more of {close.numel()} entries): expected {_fmt(exp[where])}, got {_fmt(got[where])}"
        )


def _passed(name: str, cases: list[str]) -> CheckResult:
    print(f"PASSED {name}: {len(cases)} cases agree with the reference ({'; '.join(cases[:4])}"
          f"{'; ...' if len(cases) > 4 else ''})")
    return CheckResult(name, len(cases), cases)


def _left_padded(lengths: list[int], L: int, n_items: int, gen: torch.Generator) -> torch.Tensor:
    """Random item ids [B, L], left-padded with 0 to the given lengths (0 = an all-padding row)."""
    ids = torch.randint(1, n_items + 1, (len(lengths), L), generator=gen)
    pad = torch.arange(L)[None, :] < (L - torch.tensor(lengths))[:, None]
    return ids.masked_fill(pad, 0)


# ------------------------------------------------------------------------------------------------
# Assignment 1: attention (Eq. 4-6)
# ------------------------------------------------------------------------------------------------
def check_attention_mask(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(item_ids [B, L], causal: bool) -> additive mask`` broadcastable to [B, 1, L, L]:
    0 where query i may look at key j, a large negative number (<= -1000) elsewhere."""
    name = "check_attention_mask"
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for L, lengths in ((5, [5, 3, 1]), (8, [8, 0, 4, 2]), (1, [1, 0]), (12, [12, 7, 1, 0, 11])):
        ids = _left_padded(lengths, L, 50, gen)
        for causal in (False, True):
            case = f"L={L}, lengths={lengths}, causal={causal}"
            ref = _model.attention_mask(ids, causal).expand(len(lengths), 1, L, L)
            got = _as_tensor(name, _call(name, student_fn, ids.clone(), causal), "the mask")
            try:
                got = torch.broadcast_to(got, (len(lengths), 1, L, L))
            except RuntimeError:
                raise CheckFailed(f"{name}, case {case}: a mask of shape {list(got.shape)} does not broadcast to "
                                  f"[B, 1, L, L] = {[len(lengths), 1, L, L]}") from None
            if not got.is_floating_point():
                raise CheckFailed(f"{name}, case {case}: the mask must be additive (float: 0 or a large negative "
                                  f"number), got dtype {got.dtype}")
            ref_open, got_open = ref == 0, got > -1.0
            if ((~got_open) & (got > -1000.0)).any():
                raise CheckFailed(f"{name}, case {case}: blocked entries must be a large negative number "
                                  f"(<= -1000, e.g. {_model.FINETUNE_MASK_VALUE:g}); found {_fmt(got.min())}")
            diff = ref_open != got_open
            if diff.any():
                b, _, i, j = (int(t) for t in torch.nonzero(diff)[0])
                row = ids[b].tolist()
                reason = ("key j is padding" if ids[b, j] == 0 else
                          "key j is in the future (j > i)" if causal and j > i else "key j is a real, visible item")
                should = "open (0)" if ref_open[b, 0, i, j] else "blocked (large negative)"
                raise CheckFailed(
                    f"{name}, case {case}: for sequence {b} = {row}, query position i={i} and key position j={j} "
                    f"should be {should} because {reason}; your mask has {_fmt(got[b, 0, i, j])}")
            cases.append(case)
    return _passed(name, cases)


def check_attention(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(q, k, v, mask) -> [B, h, L, d_k]``: softmax(Q K^T / sqrt(d_k) + mask) V (Eq. 6),
    q, k, v [B, h, L, d_k], mask additive and broadcastable to [B, h, L, L]. Rows whose keys are all
    masked (padding queries of all-padding sequences) must come back finite; their value is not compared."""
    name = "check_attention"
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for B, h, L, dk, lengths in ((2, 1, 4, 8, [4, 2]), (3, 2, 6, 16, [6, 1, 0]), (1, 4, 1, 4, [1]),
                                 (4, 2, 10, 32, [10, 5, 0, 3])):
        ids = _left_padded(lengths, L, 20, gen)
        q, k, v = (torch.randn(B, h, L, dk, generator=gen) * 1.5 for _ in range(3))
        for causal in (False, True):
            case = f"B={B}, h={h}, L={L}, d_k={dk}, lengths={lengths}, causal={causal}"
            mask = _model.attention_mask(ids, causal)
            ref = _model.scaled_dot_product_attention(q, k, v, mask)
            got = _as_tensor(name, _call(name, student_fn, q.clone(), k.clone(), v.clone(), mask.clone()), "the output")
            if tuple(got.shape) != tuple(ref.shape):
                raise CheckFailed(f"{name}, case {case}: output has shape {list(got.shape)}, expected "
                                  f"{list(ref.shape)} = [B, h, L, d_k]")
            visible = torch.broadcast_to(mask == 0, (B, h, L, L)).any(-1)  # [B, h, L] rows with a visible key
            if not torch.isfinite(got).all():
                b, hh, i, _ = (int(t) for t in torch.nonzero(~torch.isfinite(got))[0])
                hint = (" This query sees no key at all (an all-padding row): adding the mask keeps softmax "
                        "finite, filling with -inf gives 0/0 = NaN." if not visible[b, hh, i] else "")
                raise CheckFailed(f"{name}, case {case}: output is not finite at batch {b}, head {hh}, query {i}: "
                                  f"{_fmt(got[b, hh, i])}.{hint}")
            sel = visible[..., None].expand_as(ref)
            _compare(name, case + " (queries that see at least one key)", got[sel].view(-1), ref[sel].view(-1))
            cases.append(case)
    return _passed(name, cases)


# ------------------------------------------------------------------------------------------------
# Assignment 2: the evaluation protocol
# ------------------------------------------------------------------------------------------------
def check_rank(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(scores [B, 1 + C]) -> ranks [B]``: the 0-based rank of column 0 (the true item) among
    all columns, ties counted against the model (pessimistic)."""
    name = "check_rank"
    gen = torch.Generator().manual_seed(seed)
    cases = []
    inputs = {
        "random scores [5, 100]": torch.randn(5, 100, generator=gen),
        "integer scores with many ties [6, 100]": torch.randint(0, 4, (6, 100), generator=gen).float(),
        "every score equal (a constant model) [3, 100]": torch.zeros(3, 100),
        "true item strictly best [2, 10]": torch.cat([torch.full((2, 1), 9.0), torch.randn(2, 9, generator=gen)], 1),
        "one tie with the true item [1, 4]": torch.tensor([[0.5, 0.9, 0.5, 0.1]]),
        "no negatives [2, 1]": torch.randn(2, 1, generator=gen),
    }
    for case, scores in inputs.items():
        ref = _metrics.rank_of_first(scores)
        got = _as_tensor(name, _call(name, student_fn, scores.clone()), "the ranks")
        if tuple(got.shape) != tuple(ref.shape):
            raise CheckFailed(f"{name}, case {case}: ranks have shape {list(got.shape)}, expected {list(ref.shape)}")
        wrong = got.to(torch.int64) != ref
        if wrong.any():
            b = int(torch.nonzero(wrong)[0])
            row = scores[b]
            ties = int((row[1:] == row[0]).sum())
            note = (f" The true item's score {row[0].item():.4g} is tied with {ties} other item(s): ties count "
                    "against the model (pessimistic), so every tied item ranks above it." if ties else "")
            raise CheckFailed(f"{name}, case {case}: user {b}: expected rank {int(ref[b])}, got {_fmt(got[b])}.{note}")
        cases.append(case)
    return _passed(name, cases)


def check_metrics(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(ranks [U]) -> dict`` with HR@1, HR@5, NDCG@5, HR@10, NDCG@10 and MRR averaged over users."""
    name = "check_metrics"
    gen = torch.Generator().manual_seed(seed)
    cases = []
    inputs = {
        "all ranks 0 (perfect)": torch.zeros(7, dtype=torch.long),
        "all ranks 99 (worst)": torch.full((4,), 99, dtype=torch.long),
        "single user at rank 4": torch.tensor([4]),
        "ranks exactly at the cut-offs 1, 5, 10": torch.tensor([0, 1, 4, 5, 9, 10]),
        "random ranks of 200 users": torch.randint(0, 100, (200,), generator=gen),
    }
    for case, ranks in inputs.items():
        ref = _metrics.metrics_from_ranks(ranks)
        got = _call(name, student_fn, ranks.clone())
        if not isinstance(got, dict):
            raise CheckFailed(f"{name}, case {case}: expected a dict like {{'HR@1': ..., 'MRR': ...}}, got "
                              f"{type(got).__name__}")
        missing = [k for k in ref if k not in got]
        if missing:
            raise CheckFailed(f"{name}, case {case}: the result lacks {missing}; expected keys {list(ref)}")
        for key, exp in ref.items():
            value = float(got[key])
            if not math.isclose(value, exp, rel_tol=1e-6, abs_tol=1e-9):
                hint = ""
                if key.startswith("NDCG"):
                    hint = " NDCG@k of one user is 1 / log2(rank + 2) when rank < k, else 0 (base-2 logarithm)."
                elif key.startswith("HR"):
                    hint = " HR@k counts a hit when rank < k (rank 0 is the top)."
                else:
                    hint = " MRR averages 1 / (rank + 1)."
                raise CheckFailed(f"{name}, case {case} (ranks {_fmt(ranks)}): {key} expected {exp:.6f}, "
                                  f"got {value:.6f}.{hint}")
        cases.append(case)
    return _passed(name, cases)


def check_negatives(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(history: np.ndarray, n_items: int, k: int, rng: np.random.Generator) -> np.ndarray [k]``:
    k distinct items from 1..n_items, none in ``history``, each allowed item equally likely."""
    name = "check_negatives"
    cases = []
    rng = np.random.default_rng(seed)
    for n_items, hist_len, k in ((200, 10, 99), (150, 51, 99), (101, 2, 99), (30, 5, 3)):
        history = rng.choice(np.arange(1, n_items + 1), size=hist_len, replace=False)
        case = f"n_items={n_items}, history of {hist_len} items, k={k}"
        got = np.asarray(_call(name, student_fn, history.copy(), n_items, k, np.random.default_rng(seed + 1)))
        if got.shape != (k,):
            raise CheckFailed(f"{name}, case {case}: expected an array of shape ({k},), got shape {got.shape}")
        if ((got < 1) | (got > n_items)).any():
            bad = got[(got < 1) | (got > n_items)][0]
            raise CheckFailed(f"{name}, case {case}: item {bad} is outside 1..{n_items} (0 is padding)")
        clash = np.intersect1d(got, history)
        if len(clash):
            raise CheckFailed(f"{name}, case {case}: item {clash[0]} is in the user's history; negatives must be "
                              "items the user never interacted with")
        if len(np.unique(got)) != k:
            vals, counts = np.unique(got, return_counts=True)
            raise CheckFailed(f"{name}, case {case}: item {vals[counts > 1][0]} was drawn twice; the {k} negatives "
                              "must be distinct")
        cases.append(case)
    # uniformity: 20 allowed items, 5 drawn, 4000 times: each allowed item should appear 1000 times
    n_items, history, k, reps = 24, np.array([3, 7, 11, 20]), 5, 4000
    counts = np.zeros(n_items + 1)
    gen = np.random.default_rng(seed + 2)
    for _ in range(reps):
        counts[np.asarray(_call(name, student_fn, history.copy(), n_items, k, gen))] += 1
    allowed = np.setdiff1d(np.arange(1, n_items + 1), history)
    expected = reps * k / len(allowed)
    sd = math.sqrt(reps * (k / len(allowed)) * (1 - k / len(allowed)))
    worst = allowed[np.argmax(np.abs(counts[allowed] - expected))]
    if abs(counts[worst] - expected) > 6 * sd:
        raise CheckFailed(f"{name}, uniformity (n_items={n_items}, history={history.tolist()}, k={k}, {reps} draws): "
                          f"item {worst} was drawn {int(counts[worst])} times, expected about {expected:.0f} "
                          f"(± {3 * sd:.0f}); every allowed item must be equally likely")
    cases.append(f"uniform over {len(allowed)} allowed items ({reps} draws)")
    return _passed(name, cases)


# ------------------------------------------------------------------------------------------------
# Assignment 3: masking, MIP and MAP (Eq. 12-15)
# ------------------------------------------------------------------------------------------------
def check_masking(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(items [B, L], mask_ratio, mask_id, generator) -> (inputs [B, L], masked [B, L] bool)``:
    each real item masked with probability ``mask_ratio``, the newest (last) item always, padding never;
    ``inputs`` is ``items`` with the masked positions replaced by ``mask_id``."""
    name = "check_masking"
    gen = torch.Generator().manual_seed(seed)
    cases = []
    mask_id = 101
    for ratio in (0.2, 0.5, 0.0):
        lengths = [int(x) for x in torch.randint(1, 21, (300,), generator=gen)]
        items = _left_padded(lengths, 20, 100, gen)
        case = f"300 sequences of length 1..20 (L=20), mask_ratio={ratio}"
        out = _call(name, student_fn, items.clone(), ratio, mask_id, torch.Generator().manual_seed(seed + 7))
        if not (isinstance(out, tuple) and len(out) == 2):
            raise CheckFailed(f"{name}, case {case}: expected a pair (inputs, masked), got {type(out).__name__}")
        inputs, masked = (_as_tensor(name, t, w) for t, w in zip(out, ("inputs", "masked")))
        for t, w in ((inputs, "inputs"), (masked, "masked")):
            if tuple(t.shape) != tuple(items.shape):
                raise CheckFailed(f"{name}, case {case}: {w} has shape {list(t.shape)}, expected {list(items.shape)}")
        masked = masked.bool()
        real = items > 0
        if (masked & ~real).any():
            b, j = (int(t) for t in torch.nonzero(masked & ~real)[0])
            raise CheckFailed(f"{name}, case {case}: sequence {b} (length {lengths[b]}) has padding position {j} "
                              "masked; padding is never masked")
        if not masked[:, -1].all():
            b = int(torch.nonzero(~masked[:, -1])[0])
            raise CheckFailed(f"{name}, case {case}: the newest item (last position) of sequence {b} is not "
                              "masked; the authors' code always masks it")
        expected_inputs = torch.where(masked, torch.full_like(items, mask_id), items)
        if not torch.equal(inputs, expected_inputs):
            b, j = (int(t) for t in torch.nonzero(inputs != expected_inputs)[0])
            raise CheckFailed(f"{name}, case {case}: sequence {b}, position {j}: masked={bool(masked[b, j])}, item "
                              f"{int(items[b, j])}, so inputs should hold {int(expected_inputs[b, j])}, got "
                              f"{int(inputs[b, j])}")
        others = real.clone()
        others[:, -1] = False
        n, k = int(others.sum()), int((masked & others).sum())
        sd = math.sqrt(max(n * ratio * (1 - ratio), 1e-12))
        if abs(k - n * ratio) > 6 * sd + 1e-9:
            raise CheckFailed(f"{name}, case {case}: {k} of the {n} real, non-last positions were masked "
                              f"({k / n:.3f}); expected a share close to mask_ratio={ratio} (± {3 * sd / n:.3f})")
        cases.append(case)
    return _passed(name, cases)


def _head(d: int, gen: torch.Generator):
    W = torch.randn(d, d, generator=gen) / math.sqrt(d)
    b = torch.randn(d, generator=gen) * 0.1
    return W, b


def _check_loss(name, student_fn, ref_fn, make_args, shapes, gen, grad_arg: int = 0) -> list[str]:
    """Compare loss values and the gradient with respect to argument ``grad_arg`` on several shapes."""
    cases = []
    for shape_name, shape in shapes:
        args = make_args(shape, gen)
        case = shape_name
        ref_args = [a.clone().requires_grad_(i == grad_arg) for i, a in enumerate(args)]
        ref = ref_fn(*ref_args)
        stu_args = [a.clone().requires_grad_(i == grad_arg) for i, a in enumerate(args)]
        got = _as_tensor(name, _call(name, student_fn, *stu_args), "the loss")
        if got.dim() != 0:
            raise CheckFailed(f"{name}, case {case}: the loss should be a scalar (0-dim tensor), got shape "
                              f"{list(got.shape)}")
        _compare(name, case, got, ref.detach(), atol=1e-4, rtol=1e-4, what="the loss")
        if args[grad_arg].numel():
            (g_ref,) = torch.autograd.grad(ref, ref_args[grad_arg])
            if not got.requires_grad:
                raise CheckFailed(f"{name}, case {case}: the loss has no gradient (did you call .item(), .detach() "
                                  "or build it from numpy?)")
            (g_got,) = torch.autograd.grad(got, stu_args[grad_arg], allow_unused=True)
            if g_got is None:
                raise CheckFailed(f"{name}, case {case}: the loss does not depend on the encoder output x")
            _compare(name, case, g_got, g_ref, atol=1e-4, rtol=1e-3, what="the gradient with respect to x")
        cases.append(case)
    return cases


def check_mip_loss(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(x [N, d], W [d, d], b [d], pos [N, d], neg [N, d]) -> scalar``: the released code's
    Masked Item Prediction loss (Eq. 12-13 made pairwise): with f = sigmoid((W x + b)^T e),
    sum over positions of -log sigmoid(f_pos - f_neg)."""
    name = "check_mip_loss"
    gen = torch.Generator().manual_seed(seed)

    def make(shape, g):
        N, d = shape
        W, b = _head(d, g)
        return [torch.randn(N, d, generator=g), W, b, torch.randn(N, d, generator=g), torch.randn(N, d, generator=g)]

    def ref(x, W, b, pos, neg):
        return _objectives.mip_loss(x, W, b, pos, neg, "official")

    shapes = [("N=5 masked positions, d=8", (5, 8)), ("N=1, d=16", (1, 16)), ("N=40, d=64", (40, 64)),
              ("N=0 (no masked position)", (0, 8))]
    return _passed(name, _check_loss(name, student_fn, ref, make, shapes, gen))


def check_map_loss(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(x [N, d], W, b, attribute_table [A, d], targets [N, A]) -> scalar``: the released code's
    Masked Attribute Prediction loss (Eq. 14-15): binary cross-entropy of sigmoid((W x + b)^T e_a) against
    the 0/1 targets, summed over positions and all attributes."""
    name = "check_map_loss"
    gen = torch.Generator().manual_seed(seed)

    def make(shape, g):
        N, d, A = shape
        W, b = _head(d, g)
        targets = (torch.rand(N, A, generator=g) < 0.2).float()
        targets[:, 0] = 0.0  # attribute 0 is padding
        return [torch.randn(N, d, generator=g), W, b, torch.randn(A, d, generator=g), targets]

    def ref(x, W, b, table, targets):
        return _objectives.map_loss(x, W, b, table, targets, "official")

    shapes = [("N=4, d=8, A=12", (4, 8, 12)), ("N=1, d=16, A=3", (1, 16, 3)), ("N=30, d=32, A=50", (30, 32, 50)),
              ("N=0 (no masked position), A=12", (0, 8, 12))]
    return _passed(name, _check_loss(name, student_fn, ref, make, shapes, gen))


# ------------------------------------------------------------------------------------------------
# Assignment 4: segment prediction (Eq. 16-17)
# ------------------------------------------------------------------------------------------------
def reference_segment_views(items, lengths, start, seg_len, neg_segments, mask_id):
    """The three SP views of :meth:`s3rec_lite.batches.PretrainCorpus.batch`, for a given segment.

    items [B, L] left-padded; ``start`` [B] index of the segment's first item inside the sequence
    (0 = the oldest real item); ``seg_len`` [B]; ``neg_segments`` [B, S] the negative segment in its first
    ``seg_len`` entries. Returns (context, positive, negative), each [B, L]:
    context = items with the segment replaced by mask_id; positive = the segment in place, mask_id on the
    other real positions, 0 on padding; negative = the same layout holding the negative segment."""
    B, L = items.shape
    rel = torch.arange(L)[None, :] - (L - lengths)[:, None]  # [B, L] index inside the sequence
    in_seg = (rel >= start[:, None]) & (rel < (start + seg_len)[:, None])
    real = items > 0
    mask_tok = torch.full_like(items, mask_id)
    context = torch.where(in_seg, mask_tok, items)
    positive = torch.where(real & ~in_seg, mask_tok, items)
    idx = (rel - start[:, None]).clamp(0, neg_segments.shape[1] - 1)
    negative = torch.where(in_seg, neg_segments.gather(1, idx), positive)
    return context, positive, negative


def check_segment_sampling(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(lengths [B], generator) -> (start [B], seg_len [B])``: seg_len uniform in
    1..max(1, length // 2), then start uniform in 0..length - seg_len."""
    name = "check_segment_sampling"
    cases = []
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 40, (500,), generator=gen)
    lengths[:3] = torch.tensor([1, 2, 3])
    out = _call(name, student_fn, lengths.clone(), torch.Generator().manual_seed(seed + 1))
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed(f"{name}: expected a pair (start, seg_len), got {type(out).__name__}")
    start, seg_len = (_as_tensor(name, t, w).to(torch.int64) for t, w in zip(out, ("start", "seg_len")))
    for t, w in ((start, "start"), (seg_len, "seg_len")):
        if tuple(t.shape) != tuple(lengths.shape):
            raise CheckFailed(f"{name}: {w} has shape {list(t.shape)}, expected {list(lengths.shape)}")
    hi = torch.clamp(lengths // 2, min=1)
    bad = (seg_len < 1) | (seg_len > hi)
    if bad.any():
        i = int(torch.nonzero(bad)[0])
        raise CheckFailed(f"{name}, random lengths 1..39: a sequence of length {int(lengths[i])} got a segment of "
                          f"length {int(seg_len[i])}; it must lie in 1..{int(hi[i])} (1..len/2, at least 1)")
    bad = (start < 0) | (start + seg_len > lengths)
    if bad.any():
        i = int(torch.nonzero(bad)[0])
        raise CheckFailed(f"{name}, random lengths 1..39: a sequence of length {int(lengths[i])} got start "
                          f"{int(start[i])} with a segment of length {int(seg_len[i])}: the segment must fit, "
                          f"start in 0..{int(lengths[i] - seg_len[i])}")
    cases.append("bounds on 500 random lengths 1..39 (and 1, 2, 3)")
    # distribution for length 10: seg_len uniform on 1..5, start uniform on 0..10-seg_len
    reps = 20000
    L10 = torch.full((reps,), 10)
    start, seg_len = (torch.as_tensor(t).to(torch.int64)
                      for t in _call(name, student_fn, L10, torch.Generator().manual_seed(seed + 2)))
    counts = torch.bincount(seg_len, minlength=6)[1:6].double()
    sd = math.sqrt(reps * 0.2 * 0.8)
    worst = int(torch.argmax((counts - reps / 5).abs()))
    if abs(float(counts[worst]) - reps / 5) > 6 * sd:
        raise CheckFailed(f"{name}, {reps} draws for length 10: segment length {worst + 1} came {int(counts[worst])} "
                          f"times, expected about {reps // 5} (each of 1..5 equally likely); got counts "
                          f"{counts.long().tolist()}")
    sel = seg_len == 5  # start uniform on 0..5
    sc = torch.bincount(start[sel], minlength=6)[:6].double()
    n = float(sel.sum())
    sd = math.sqrt(n / 6 * 5 / 6)
    worst = int(torch.argmax((sc - n / 6).abs()))
    if abs(float(sc[worst]) - n / 6) > 6 * sd:
        raise CheckFailed(f"{name}, length 10 with segment length 5: start {worst} came {int(sc[worst])} times of "
                          f"{int(n)}, expected about {n / 6:.0f} (each start 0..5 equally likely); got {sc.long().tolist()}")
    cases.append(f"uniform lengths and starts ({reps} draws, length 10)")
    return _passed(name, cases)


def check_segment_views(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(items, lengths, start, seg_len, neg_segments, mask_id) -> (context, positive, negative)``,
    see :func:`reference_segment_views`."""
    name = "check_segment_views"
    gen = torch.Generator().manual_seed(seed)
    cases = []
    mask_id = 61
    for L, lengths in ((6, [6, 4, 2]), (10, [10, 3, 7, 2, 9]), (4, [2, 2])):
        B = len(lengths)
        lens = torch.tensor(lengths)
        items = _left_padded(lengths, L, 60, gen)
        seg_len = 1 + (torch.rand(B, generator=gen) * (lens // 2)).long()
        start = (torch.rand(B, generator=gen) * (lens - seg_len + 1)).long()
        neg = torch.randint(1, 61, (B, L), generator=gen)
        case = f"L={L}, lengths={lengths}, start={start.tolist()}, seg_len={seg_len.tolist()}"
        ref = reference_segment_views(items, lens, start, seg_len, neg, mask_id)
        out = _call(name, student_fn, items.clone(), lens.clone(), start.clone(), seg_len.clone(), neg.clone(), mask_id)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise CheckFailed(f"{name}, case {case}: expected three tensors (context, positive, negative)")
        for view, got, exp in zip(("context", "positive", "negative"), out, ref):
            got = _as_tensor(name, got, view)
            if tuple(got.shape) != tuple(exp.shape):
                raise CheckFailed(f"{name}, case {case}: {view} has shape {list(got.shape)}, expected {list(exp.shape)}")
            if not torch.equal(got.to(torch.int64), exp):
                b = int(torch.nonzero((got != exp).any(1))[0])
                raise CheckFailed(f"{name}, case {case}: the {view} view of sequence {b} = {items[b].tolist()} "
                                  f"(segment start {int(start[b])}, length {int(seg_len[b])}, mask id {mask_id}, "
                                  f"negative segment {neg[b, :int(seg_len[b])].tolist()}): expected {exp[b].tolist()}, "
                                  f"got {got[b].tolist()}")
        cases.append(case)
    return _passed(name, cases)


def check_sp_loss(student_fn: Callable, seed: int = 0) -> CheckResult:
    """``student_fn(context [B, d], W, b, pos [B, d], neg [B, d]) -> scalar``: the released code's SP loss
    (Eq. 16-17 made pairwise): f = sigmoid((W s~ + b)^T s), sum over sequences of -log sigmoid(f_pos - f_neg)."""
    name = "check_sp_loss"
    gen = torch.Generator().manual_seed(seed)

    def make(shape, g):
        B, d = shape
        W, b = _head(d, g)
        return [torch.randn(B, d, generator=g), W, b, torch.randn(B, d, generator=g), torch.randn(B, d, generator=g)]

    def ref(ctx, W, b, pos, neg):
        return _objectives.sp_loss(ctx, W, b, pos, neg, "official")

    shapes = [("B=6, d=8", (6, 8)), ("B=1, d=16", (1, 16)), ("B=64, d=64", (64, 64))]
    return _passed(name, _check_loss(name, student_fn, ref, make, shapes, gen))


# ------------------------------------------------------------------------------------------------
# Assignment 5: a new objective through the extension point
# ------------------------------------------------------------------------------------------------
def check_objective(name: str, seed: int = 0) -> CheckResult:
    """A registered objective (``@register_objective(name)``) must return a finite scalar loss on real
    pre-training batches (including one-item prefixes), send a gradient into the model, and change when
    the batch changes."""
    from ..batches import PretrainCorpus
    from ..config import preset
    from ..data import make_synthetic
    from ..train import build_model, pretrain_losses, seed_everything

    check = "check_objective"
    if name not in _objectives.OBJECTIVES:
        raise CheckFailed(f"{check}: no objective is registered as {name!r} (registered: "
                          f"{', '.join(_objectives.OBJECTIVES)}); decorate your function with "
                          f"@register_objective({name!r})")
    ds = make_synthetic(num_users=40, num_items=60, num_clusters=4, max_len=20, seed=seed, num_negatives=5)
    weights = {k: 0.0 for k in _objectives.OBJECTIVES}
    weights[name] = 1.0
    cfg = preset("tiny", hidden_size=16, max_len=12, progress=False, device="cpu", loss_weights=weights)
    seed_everything(seed)
    model = build_model(cfg, ds, "cpu")
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items)
    attr = torch.as_tensor(ds.attribute_matrix()).float()
    cases, values = [], []
    firsts = torch.nonzero(corpus.prefix_len == 1).view(-1)[:8]
    batches = {"a batch of 16 prefixes": torch.arange(16), "another batch of 16 prefixes": torch.arange(40, 56),
               "one-item prefixes only": firsts}
    for case, idx in batches.items():
        model.zero_grad(set_to_none=True)
        batch = corpus.batch(idx, cfg.mask_ratio, cfg.num_negatives, cfg.objective_variant)
        losses = _call(check, pretrain_losses, model, batch, cfg, attr)
        loss = losses[name]
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise CheckFailed(f"{check}({name!r}), {case}: the objective must return a scalar tensor, got "
                              f"{_fmt(loss)}")
        if not torch.isfinite(loss):
            raise CheckFailed(f"{check}({name!r}), {case}: the loss is {loss.item()} (not finite)")
        if not loss.requires_grad:
            raise CheckFailed(f"{check}({name!r}), {case}: the loss carries no gradient: it is not computed from "
                              "the model's outputs or parameters (ctx.hidden, ctx.model...), so it cannot train")
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads or all(float(g.abs().sum()) == 0.0 for g in grads):
            raise CheckFailed(f"{check}({name!r}), {case}: the gradient of the loss is zero for every parameter")
        if not all(torch.isfinite(g).all() for g in grads):
            raise CheckFailed(f"{check}({name!r}), {case}: some gradients are NaN or infinite")
        values.append(float(loss.detach()))
        cases.append(f"{case}: loss {values[-1]:.4g}")
    if values[0] == values[1]:
        raise CheckFailed(f"{check}({name!r}): two different batches gave the same loss {values[0]:.6g}; the loss "
                          "should depend on the batch")
    return _passed(f"{check}({name!r})", cases)
