"""Pre-training, fine-tuning and evaluation loops, with per-epoch checkpoints that make every run resumable.

Resuming: each loop writes ``<out>/<stage>_state.pt`` after every epoch (model, optimiser, RNG state,
history, early-stopping state). Running the same command with the same ``out`` again continues from the
last finished epoch; on a CPU the final result is bit for bit the one of an uninterrupted run.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .batches import PretrainCorpus, sample_excluding
from .checkpoint import atomic_torch_save, save_model
from .config import Config
from .data import SequenceDataset, Split
from .errors import ConfigError, S3RecError, TrainingFault
from .metrics import FULL_METRICS, SAMPLED_METRICS, metrics_from_ranks, rank_of_first, rank_of_target
from .fast import adam, apply_speed_flags, compiled, encode_views, next_item_loss, packs_finetuning, user_representation
from .model import S3RecModel
from .objectives import OBJECTIVES, ObjectiveContext
from .recommender import Recommender


# ------------------------------------------------------------------------------------------------
# Devices, seeds and RNG state
# ------------------------------------------------------------------------------------------------
def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but PyTorch sees no CUDA device here")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)  # seeds CPU and all CUDA devices
    np.random.seed(seed % 2**32)


def _rng_state(device: torch.device) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def build_model(cfg: Config, ds: SequenceDataset, device=None) -> S3RecModel:
    """A freshly initialised S3-Rec model sized for ``ds`` (seeded by the caller), with ``cfg``'s speed flags."""
    model = apply_speed_flags(S3RecModel(cfg.arch, ds.item_vocab_size, ds.attribute_vocab_size), cfg)
    return model.to(device or resolve_device(cfg.device))


def _model_name(model: Recommender) -> str:
    return f"{type(model).__name__} ({model.zoo_name})"


def _load_state(path: Path, cfg: Config, stage: str, model: Recommender):
    """The resumable state in ``path`` if any; a clear error if it belongs to another run."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        state["model"], state["epoch"]  # noqa: B018 (a state without them is not ours)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ValueError, KeyError, ...
        raise S3RecError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc)[:80]}); the file is corrupt or "
                         f"incomplete: delete it to start the {stage} over") from None
    theirs = state.get("model_name") or _model_name_of_state(state["model"], model)
    if theirs != _model_name(model):
        raise S3RecError(
            f"{path}: this folder holds a {stage} run of {theirs}, not of {_model_name(model)}; "
            "use another --out, or delete the folder to start over"
        )
    if state.get("fingerprint") != cfg.training_fingerprint():
        raise S3RecError(
            f"{path}: this folder holds a {stage} run with a different configuration; "
            "use another --out, or delete the folder to start over"
        )
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if {k: tuple(v.shape) for k, v in state["model"].items()} != shapes:
        raise S3RecError(f"{path}: this folder holds a {stage} run of the same model on other data (its item or "
                         "attribute tables differ in size); use another --out, or delete the folder to start over")
    if cfg.progress:
        print(f"resuming the {stage} from {path} after epoch {state['epoch']}", file=sys.stderr)
    return state


def _check_finite(values: dict, stage: str, epoch: int, cfg: Config, model=None) -> None:
    """Stop a run whose loss (or, given ``model``, whose weights) became NaN or infinite, naming the epoch and
    the loss; nothing of that epoch is saved."""
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if not bad and model is not None and not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        bad = {"(the weights)": float("nan")}
    if bad:
        lr = cfg.pretrain_lr if stage == "pre-training" else cfg.finetune_lr
        name, value = next(iter(bad.items()))
        what = "the total loss" if name == "loss" else name if name.startswith("(") else f"the {name} loss"
        raise TrainingFault(f"{stage} diverged in epoch {epoch}: {what.strip('()')} {'are' if name.startswith('(') else 'is'} "
                            f"{value} (learning rate {lr:g}); "
                         "nothing of this epoch is saved")


def _model_name_of_state(state_dict: dict, model: Recommender) -> str:
    """For states saved before they recorded the model's name: the same parameters, or someone else's."""
    mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if {k: tuple(v.shape) for k, v in state_dict.items()} == mine:
        return _model_name(model)
    return "another model (its parameters differ)"


# ------------------------------------------------------------------------------------------------
# Pre-training (Section 4.3): L = sum_k lambda_k L_k over the registered objectives
# ------------------------------------------------------------------------------------------------
def active_objectives(cfg: Config) -> dict[str, float]:
    weights = {k: float(w) for k, w in cfg.loss_weights.items() if w > 0}
    unknown = [k for k in weights if k not in OBJECTIVES]
    if unknown:
        raise ConfigError(f"no objective registered as {unknown[0]!r} (known: {', '.join(OBJECTIVES)})")
    return weights


def pretrain_losses(model: S3RecModel, batch, cfg: Config, attribute_matrix: torch.Tensor,
                    dense: bool | None = None) -> dict[str, torch.Tensor]:
    """Encode the views the active objectives need and return each objective's (unweighted) loss.

    ``dense`` (default: on a GPU, or with ``compile_step``) selects positions by 0/1 weights instead of boolean
    indexing: more arithmetic, but static shapes (one compilation) and no host synchronisation inside the step."""
    weights = active_objectives(cfg)
    needs_segments = any(OBJECTIVES[k].needs_segments for k in weights)
    # bidirectional (S3-Rec); a unidirectional model (Fig. 3: SASRec, GRU4Rec) stays unidirectional
    hidden, seg_ctx, seg_pos, seg_neg = encode_views(model, batch, model.causal_pretraining, needs_segments,
                                                     cfg.sp_last_only, cfg.packed_pretraining,
                                                     cfg.bf16_pretraining)
    ctx = ObjectiveContext(model, batch, hidden, seg_ctx, seg_pos, seg_neg, cfg.objective_variant, attribute_matrix,
                           dense=(hidden.device.type == "cuda" or cfg.compile_step) if dense is None else dense)
    return {name: OBJECTIVES[name].fn(ctx) for name in weights}


def pretrain_loss(model, corpus: PretrainCorpus, idx: torch.Tensor, cfg: Config, attribute_matrix: torch.Tensor,
                  weights: dict[str, float]):
    """The loss of one step on the prefixes ``idx``: build the batch, L = sum_k lambda_k L_k.
    Returns (L, {objective: L_k}); the part that ``compile_step`` compiles (:func:`s3rec_lite.fast.compiled`)."""
    batch = corpus.batch(idx, cfg.mask_ratio, cfg.num_negatives, cfg.objective_variant)
    losses = pretrain_losses(model, batch, cfg, attribute_matrix)
    return sum(weights[k] * losses[k] for k in weights), losses


def pretrain_step(model, corpus: PretrainCorpus, idx: torch.Tensor, cfg: Config, attribute_matrix: torch.Tensor,
                  opt: torch.optim.Optimizer, weights: dict[str, float], loss_fn=pretrain_loss):
    """One optimisation step on the prefixes ``idx``: the loss (``loss_fn``: :func:`pretrain_loss`, or its
    compiled version), backward, Adam. Returns (total loss, {objective: loss}) as tensors (no host
    synchronisation)."""
    total, losses = loss_fn(model, corpus, idx, cfg, attribute_matrix, weights)
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    return total.detach(), {k: v.detach() for k, v in losses.items()}


def pretrain(
    model: S3RecModel,
    ds: SequenceDataset,
    cfg: Config,
    out: str | Path | None = None,
    epochs: int | None = None,
    save_every: int = 0,
    on_epoch=None,
    clock: dict | None = None,
) -> list[dict]:
    """Pre-train ``model`` on every prefix of every (training) user's sequence. Returns the per-epoch
    history ``[{"epoch", "loss", "aap", "mip", "map", "sp", "seconds"}, ...]``.

    ``out``: folder for ``pretrain_state.pt`` (resume) and ``pretrained.pt`` (the final model);
    ``save_every``: also keep ``pretrained-epoch-N.pt`` every N epochs (Fig. 5). ``clock``: a dict that gets
    ``pretrain_seconds_before_resume`` (the epochs a resumed run did in earlier processes).
    A NaN or infinite loss stops the run with an S3RecError naming the epoch and the loss.
    """
    device = next(model.parameters()).device
    epochs = cfg.pretrain_epochs if epochs is None else epochs
    weights = active_objectives(cfg)
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items, device)
    attribute_matrix = torch.as_tensor(ds.attribute_matrix(), device=device).float()  # [V, A]
    opt = adam(model, cfg.pretrain_lr, cfg, device)
    loss_fn = compiled(pretrain_loss, cfg, device)  # the eager function unless compile_step
    history: list[dict] = []
    start_epoch = 0
    out = Path(out) if out else None
    state_path = out / "pretrain_state.pt" if out else None
    state = _load_state(state_path, cfg, "pre-training", model) if out else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history, start_epoch = state["history"], state["epoch"]
        _set_rng_state(state["rng"], device)
    else:
        seed_everything(cfg.seed)

    if clock is not None:
        clock["pretrain_seconds_before_resume"] = sum(row["seconds"] for row in history)
    B = cfg.pretrain_batch_size
    n_batches = math.ceil(len(corpus) / B)
    bar = tqdm(total=epochs * n_batches, initial=start_epoch * n_batches, desc=f"pre-train {ds.name}", unit="step",
               disable=not cfg.progress)  # one bar over every step of every epoch
    for epoch in range(start_epoch, epochs):
        model.train()
        t0 = time.perf_counter()
        sums = torch.zeros(len(weights) + 1, device=device)  # accumulated on the device: no sync per step
        order = torch.randperm(len(corpus), device=device)
        bar.set_postfix_str(f"epoch {epoch + 1}/{epochs}" + (f", loss {history[-1]['loss']:.4f}" if history else ""))
        for step in range(n_batches):
            total, losses = pretrain_step(model, corpus, order[step * B:(step + 1) * B], cfg, attribute_matrix, opt,
                                          weights, loss_fn)
            sums += torch.stack([total] + [losses[k] for k in weights])
            bar.update(1)
        means = (sums / n_batches).tolist()
        row = {"epoch": epoch, "loss": means[0], **dict(zip(weights, means[1:])), "seconds": time.perf_counter() - t0}
        _check_finite({k: row[k] for k in ("loss", *weights)}, "pre-training", epoch, cfg)
        history.append(row)
        if out:
            if save_every and (epoch + 1) % save_every == 0:
                save_model(model, out / f"pretrained-epoch-{epoch + 1}.pt", ds.name, {"epoch": epoch + 1}, cfg)
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                               "history": history, "rng": _rng_state(device),
                               "fingerprint": cfg.training_fingerprint(), "model_name": _model_name(model)}, state_path)
        if on_epoch:
            on_epoch(row)
    bar.close()
    if out:
        save_model(model, out / "pretrained.pt", ds.name, {"epochs": epochs, "history": history}, cfg)
    return history


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: S3RecModel, split: Split, which: str = "valid", full_ranking: bool = False,
             batch_size: int = 1024, packed: bool = False) -> dict[str, float]:
    """HR@1/5/10, NDCG@5/10 and MRR of the true item against its 99 sampled negatives (default), or
    HR/NDCG@5/10/20 against every item with the user's history excluded (``full_ranking=True``).
    ``packed``: the speed flag ``packed_finetuning``, or ``packed_fdsa`` for FDSA (:func:`s3rec_lite.fast.packs_finetuning`,
    :func:`s3rec_lite.fast.user_representation`)."""
    device = next(model.parameters()).device
    model.eval()
    inputs = torch.as_tensor(split.valid_inputs if which == "valid" else split.test_inputs)
    answers = torch.as_tensor(split.valid_answers if which == "valid" else split.test_answers)
    if not full_ranking and split.eval_negatives is None:
        raise S3RecError(f"{split.dataset.name}: no evaluation negatives (sampled metrics need them)")
    negatives = torch.as_tensor(split.eval_negatives) if not full_ranking else None
    histories = torch.as_tensor(split.history(which)) if full_ranking else None  # [U, M] whole history
    ranks = []
    for lo in range(0, len(inputs), batch_size):
        x = inputs[lo:lo + batch_size].to(device)  # [b, L]
        ans = answers[lo:lo + batch_size].to(device)  # [b]
        hidden = user_representation(model, x, packed)  # [b, d] model.user_representation, or packed
        if full_ranking:
            scores = model.score_all(hidden)  # [b, V]
            scores[:, 0] = -torch.inf  # padding
            scores[:, model.mask_id] = -torch.inf  # mask token
            history = histories[lo:lo + batch_size].to(device)  # [b, M] every earlier item, not only x's
            history = torch.where(history == ans[:, None], torch.zeros_like(history), history)  # keep the answer
            scores.scatter_(1, history, -torch.inf)  # padding column 0 is -inf already
            ranks.append(rank_of_target(scores, ans))
        else:
            cands = torch.cat([ans[:, None], negatives[lo:lo + batch_size].to(device)], dim=1)  # [b, 100]
            ranks.append(rank_of_first(model.score_candidates(hidden, cands)))
    return metrics_from_ranks(torch.cat(ranks), FULL_METRICS if full_ranking else SAMPLED_METRICS)


# ------------------------------------------------------------------------------------------------
# Fine-tuning (Section 4.4) with early stopping on validation MRR
# ------------------------------------------------------------------------------------------------
def finetune(
    model: S3RecModel,
    ds: SequenceDataset,
    cfg: Config,
    out: str | Path | None = None,
    epochs: int | None = None,
    on_epoch=None,
    split: Split | None = None,
    clock: dict | None = None,
) -> dict:
    """Fine-tune for next-item prediction: every position predicts the next item against one sampled
    negative (an item the user never interacted with). Validates each epoch, stops after ``patience``
    epochs without a better validation MRR (``cfg.early_stopping``; or full-ranking NDCG@20, as the authors'
    full-ranking script), restores the best model and tests it.

    Returns ``{"history", "best_epoch", "valid", "test", "epochs_run"}``.

    Any :class:`~s3rec_lite.recommender.Recommender` works (its ``next_item_loss``, ``user_representation``,
    ``score_candidates``, ``score_all``); one with ``trainable = False`` (PopRec) is only evaluated.
    """
    device = next(model.parameters()).device
    epochs = cfg.finetune_epochs if epochs is None else epochs
    if not model.trainable:
        epochs = 0  # nothing to learn: validate and test as it is
    split = split or ds.split(cfg.max_len)
    train_x = torch.as_tensor(split.train_inputs, device=device)  # [U, L]
    train_y = torch.as_tensor(split.train_targets, device=device)  # [U, L]
    # each user's items, sorted; negatives avoid all of them (the authors' choice, see the book's ch. 21)
    user_items = torch.as_tensor(split.user_items, device=device)[torch.as_tensor(split.train_users, device=device)]
    high = ds.mask_id if cfg.objective_variant == "official" else ds.n_items  # official draws up to the mask id
    opt = adam(model, cfg.finetune_lr, cfg, device)
    packed = packs_finetuning(model, cfg)  # packed_finetuning (packed_fdsa for FDSA): the real tokens only
    out = Path(out) if out else None
    state_path = out / "finetune_state.pt" if out else None
    state = _load_state(state_path, cfg, "fine-tuning", model) if out else None
    history, start_epoch, best, best_epoch, stale, best_state = [], 0, -math.inf, -1, 0, None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history, start_epoch = state["history"], state["epoch"]
        best, best_epoch, stale, best_state = state["best"], state["best_epoch"], state["stale"], state["best_state"]
        _set_rng_state(state["rng"], device)
    else:
        seed_everything(cfg.seed + 1)
    if clock is not None:
        clock["finetune_seconds_before_resume"] = sum(row["seconds"] for row in history)
    B = cfg.finetune_batch_size
    n = len(train_x)
    n_batches = math.ceil(n / B)
    done = stale >= cfg.patience
    bar = tqdm(range(start_epoch, epochs), desc=f"fine-tune {ds.name}", disable=not cfg.progress or done,
               initial=start_epoch, total=epochs)
    for epoch in bar:
        if done:
            break
        model.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        order = torch.randperm(n, device=device)
        for step in range(n_batches):
            idx = order[step * B:(step + 1) * B]
            x, y = train_x[idx], train_y[idx]  # [b, L]
            neg = sample_excluding(user_items[idx], high, (x.shape[1],))  # [b, L]
            loss = next_item_loss(model, x, y, neg, cfg.objective_variant, packed,  # model's, or packed
                                  cfg.bf16_finetuning)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        train_seconds = time.perf_counter() - t0
        _check_finite({"next-item": loss_sum.item() / n_batches}, "fine-tuning", epoch, cfg, model)
        try:
            valid = evaluate(model, split, "valid", batch_size=cfg.eval_batch_size, packed=packed)
        except TrainingFault as exc:
            raise TrainingFault(f"fine-tuning diverged in epoch {epoch} (learning rate {cfg.finetune_lr:g}): {exc}") from None
        row = {"epoch": epoch, "loss": loss_sum.item() / n_batches, **{f"valid_{k}": v for k, v in valid.items()}}
        watched = valid["MRR"]
        if cfg.early_stopping == "full NDCG@20":  # the authors' full-ranking script
            valid_full = evaluate(model, split, "valid", True, cfg.eval_batch_size, packed)
            row.update({f"valid_full_{k}": v for k, v in valid_full.items()})
            watched = valid_full["NDCG@20"]
        row.update(train_seconds=train_seconds, seconds=time.perf_counter() - t0)
        history.append(row)
        if watched > best:
            best, best_epoch, stale = watched, epoch, 0
            best_state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
        else:
            stale += 1
        done = stale >= cfg.patience
        bar.set_postfix(loss=f"{row['loss']:.4f}", ndcg10=f"{valid['NDCG@10']:.4f}", best=best_epoch)
        if out:
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                               "history": history, "best": best, "best_epoch": best_epoch, "stale": stale,
                               "best_state": best_state, "rng": _rng_state(device),
                               "fingerprint": cfg.training_fingerprint(), "model_name": _model_name(model)}, state_path)
        if on_epoch:
            on_epoch(row)
    bar.close()
    if done and cfg.progress:
        print(f"early stopping: validation {'MRR' if cfg.early_stopping == 'MRR' else cfg.early_stopping} did not improve "
              f"for {cfg.patience} epochs; {len(history)} of {epochs} epochs run, the best is epoch {best_epoch + 1}",
              file=sys.stderr)
    if best_state is not None:
        model.load_state_dict(best_state)
    valid = evaluate(model, split, "valid", batch_size=cfg.eval_batch_size, packed=packed)
    test = evaluate(model, split, "test", batch_size=cfg.eval_batch_size, packed=packed)
    test_full = evaluate(model, split, "test", full_ranking=True, batch_size=cfg.eval_batch_size, packed=packed)
    if out:
        save_model(model, out / "finetuned.pt", ds.name, {"best_epoch": best_epoch}, cfg)
    return {"history": history, "best_epoch": best_epoch, "epochs_run": len(history), "valid": valid,
            "test": test, "test_full_ranking": test_full}
