"""The golden test: our model, loaded from the authors' released LastFM checkpoint, must give the losses and
outputs that the authors' own code gives on the same batch (``../shared/reference/golden_lastfm_official.pt``,
made by running their ``S3RecModel`` in eval mode; REFERENCE.md describes it).

Every fp32 path must agree to 1e-4 relative: the plain reference path and each speed flag, the opt-in packed
flags alone and with all the others. The bf16 path (``bf16_pretraining``: the pre-training encoder's matrix
products in bfloat16) must agree to 1e-2. Any speed change to the model, the objectives or the encoder must keep
this file green.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from conftest import DATA_DIR, REPO

GOLDEN = Path(os.environ.get("S3REC_GOLDEN") or REPO.parent / "shared" / "reference" / "golden_lastfm_official.pt")
CHECKPOINT = DATA_DIR / "checkpoints" / "LastFM-epochs-150.pt"
RTOL = 1e-4
RTOL_BF16 = 1e-2

pytestmark = pytest.mark.skipif(
    not (GOLDEN.exists() and CHECKPOINT.exists() and (DATA_DIR / "LastFM.txt").exists()),
    reason="the golden fixture, the released LastFM checkpoint or the LastFM data are absent",
)

# (config overrides, dense): the plain path; the four `fast` flags on; each opt-in packed flag alone, and both
# with every other flag; the dense (static-shape, GPU-style) row selection
PACKED = {"packed_pretraining": True, "packed_finetuning": True}
PATHS = {
    "plain": ({"fast": False}, False),
    "fast": ({"fast": True}, False),
    "plain-dense": ({"fast": False}, True),
    "fast-dense": ({"fast": True}, True),
    "packed_pretraining": ({"fast": False, "packed_pretraining": True}, False),
    "packed_finetuning": ({"fast": False, "packed_finetuning": True}, False),
    "fast+packed": ({"fast": True, **PACKED}, False),
    "fast+packed-dense": ({"fast": True, **PACKED}, True),
}


@pytest.fixture(scope="module")
def golden():
    return torch.load(GOLDEN, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def lastfm():
    from s3rec_lite import load_dataset

    return load_dataset("LastFM", progress=False)


def their_batch_to_ours(b: dict, mask_id: int):
    """Adapter from the authors' ``PretrainDataset`` layout to our :class:`PretrainBatch`.

    Theirs: ``pos_items`` the original prefix, ``masked_item_sequence`` with ``mask_id`` where MIP/MAP look,
    ``neg_items`` one sampled item per position (the item itself where nothing is masked), the three SP
    views as full-length sequences."""
    from s3rec_lite.batches import PretrainBatch

    items, inputs = b["pos_items"], b["masked_item_sequence"]
    masked = inputs == mask_id  # [B, L] their MIP/MAP mask
    real = items > 0
    return PretrainBatch(
        items=items, inputs=inputs, masked_positions=masked, aap_positions=real & ~masked,  # their AAP mask
        negative_items=b["neg_items"][:, :, None],  # [B, L, 1]
        segment_context=b["masked_segment_sequence"], segment_pos=b["pos_segment"], segment_neg=b["neg_segment"],
        lengths=real.sum(1),
    )


def load_released(flags: dict, lastfm):
    from s3rec_lite import preset
    from s3rec_lite.checkpoint import load_model

    cfg = preset("official", progress=False, **flags)
    model, info = load_model(CHECKPOINT, cfg, lastfm.item_vocab_size, lastfm.attribute_vocab_size)
    assert info["format"] == "authors"
    return model.eval(), cfg


def relative_error(ours: torch.Tensor, theirs: torch.Tensor, what: str) -> float:
    ours, theirs = ours.detach().double(), theirs.detach().double()
    assert ours.shape == theirs.shape, f"{what}: shape {tuple(ours.shape)} vs {tuple(theirs.shape)}"
    return ((ours - theirs).abs() / theirs.abs().clamp(min=1e-6)).max().item() if theirs.dim() == 0 else \
        ((ours - theirs).norm() / theirs.norm()).item()


def close(ours: torch.Tensor, theirs: torch.Tensor, what: str, rtol: float = RTOL) -> None:
    err = relative_error(ours, theirs, what)
    assert err <= rtol, f"{what}: relative error {err:.2e} > {rtol:g}"


def test_fixture_matches_our_data(golden, lastfm):
    """The fixture's vocabulary and attribute targets are exactly what our loader builds for LastFM."""
    b = golden["batch"]
    assert golden["item_size"] == lastfm.item_vocab_size and golden["mask_id"] == lastfm.mask_id
    assert golden["attribute_size"] == lastfm.attribute_vocab_size
    ours = torch.as_tensor(lastfm.attribute_matrix())[b["pos_items"]] > 0  # [B, L, A]
    assert torch.equal(ours, b["attributes"])


@pytest.mark.parametrize("path", list(PATHS))
def test_pretraining_losses_match_the_authors_model(golden, lastfm, path):
    from s3rec_lite.train import pretrain_losses

    flags, dense = PATHS[path]
    model, cfg = load_released(flags, lastfm)
    batch = their_batch_to_ours(golden["batch"], lastfm.mask_id)
    attribute_matrix = torch.as_tensor(lastfm.attribute_matrix()).float()
    with torch.no_grad():
        losses = pretrain_losses(model, batch, cfg, attribute_matrix, dense=dense)
    assert set(losses) == {"aap", "mip", "map", "sp"}
    for name, value in golden["losses"].items():
        close(losses[name], torch.tensor(value), f"{path}: {name} loss")


@pytest.mark.parametrize("path", ["plain", "fast", "packed_pretraining", "packed_finetuning", "fast+packed"])
def test_encoder_outputs_match_the_authors_model(golden, lastfm, path):
    """The encoders the loops run: pre-training's (bidirectional), fine-tuning's (causal), evaluation's (last
    position). A packed encoder computes the real positions only: compared there (the others hold zeros)."""
    from s3rec_lite.fast import encode_packed, user_representation

    model, cfg = load_released(PATHS[path][0], lastfm)
    masked, causal_input = golden["batch"]["masked_item_sequence"], golden["causal_input"]
    bidirectional_golden, causal_golden = golden["bidirectional_output"], golden["causal_output"]
    with torch.no_grad():
        if cfg.packed_pretraining:
            bidirectional = encode_packed(model, masked, causal=False)[masked > 0]  # [N, 64]
            bidirectional_golden = bidirectional_golden[masked > 0]
        else:
            bidirectional = model.encode(masked, causal=False)  # [64, 50, 64]
        if cfg.packed_finetuning:
            causal = encode_packed(model, causal_input, causal=True)[causal_input > 0]  # [N, 64]
            causal_golden = causal_golden[causal_input > 0]
        else:
            causal = model.encode(causal_input, causal=True)  # [64, 50, 64]
        last = user_representation(model, causal_input[:16], cfg.packed_finetuning)  # [16, 64]
        scores = model.score_all(last)  # [16, 3648]
    close(bidirectional, bidirectional_golden, f"{path}: bidirectional output")
    close(causal, causal_golden, f"{path}: causal output")
    close(last, golden["causal_output"][:16, -1], f"{path}: last position (last_query_only)")
    close(scores, golden["last_position_scores"], f"{path}: last-position scores")


def test_the_golden_test_can_fail(golden, lastfm):
    """A small change to the model must be caught: one attention-output bias entry moved by 0.01."""
    from s3rec_lite.train import pretrain_losses

    model, cfg = load_released({"fast": False}, lastfm)
    with torch.no_grad():
        model.blocks[1].attention.out.bias[0] += 0.01
        losses = pretrain_losses(model, their_batch_to_ours(golden["batch"], lastfm.mask_id), cfg,
                                 torch.as_tensor(lastfm.attribute_matrix()).float())
    with pytest.raises(AssertionError, match="relative error"):
        for name, value in golden["losses"].items():
            close(losses[name], torch.tensor(value), f"perturbed: {name} loss")


def test_compiled_losses_match_the_authors_model(golden, lastfm):
    """``compile_step`` (s3rec_lite/fast.py): the objectives through ``torch.compile`` (dense selection: static
    shapes, as on a GPU), on the golden batch; it must not have fallen back to eager code."""
    from s3rec_lite.fast import Compiled
    from s3rec_lite.train import pretrain_losses

    model, cfg = load_released({"fast": True, "compile_step": True}, lastfm)
    batch = their_batch_to_ours(golden["batch"], lastfm.mask_id)
    attribute_matrix = torch.as_tensor(lastfm.attribute_matrix()).float()
    fn = Compiled(pretrain_losses, torch.device("cpu"))
    with torch.no_grad():
        losses = fn(model, batch, cfg, attribute_matrix, dense=True)
    assert not fn.failed, "torch.compile failed here (is a C++ compiler installed?)"
    for name, value in golden["losses"].items():
        close(losses[name], torch.tensor(value), f"compile_step: {name} loss")


# --- bf16_pretraining: the pre-training encoder's products in bfloat16 (s3rec_lite/fast.py), at 1e-2 --------
def test_bf16_pretraining_losses_match_the_authors_model(golden, lastfm):
    """The four losses with the encoder's matrix products in bf16 (fp32 weights, LayerNorm, softmax, dropout
    and objectives), within 1e-2 of the authors' fp32 model; and measurably not the fp32 path (the flag acts)."""
    from s3rec_lite.train import pretrain_losses

    model, cfg = load_released({"fast": True, **PACKED, "bf16_pretraining": True}, lastfm)
    batch = their_batch_to_ours(golden["batch"], lastfm.mask_id)
    attribute_matrix = torch.as_tensor(lastfm.attribute_matrix()).float()
    with torch.no_grad():
        losses = pretrain_losses(model, batch, cfg, attribute_matrix)
    errors = [relative_error(losses[name], torch.tensor(value), name) for name, value in golden["losses"].items()]
    for (name, _), err in zip(golden["losses"].items(), errors):
        assert err <= RTOL_BF16, f"bf16_pretraining: {name} loss: relative error {err:.2e} > {RTOL_BF16:g}"
    assert max(errors) > 1e-6, "bf16_pretraining gave fp32's losses exactly: the flag did nothing"


def test_bf16_pretraining_encoder_matches_the_authors_model(golden, lastfm):
    """The bidirectional encoder of pre-training (the only one bf16 touches) at the real positions, and the
    last-position output of the SP views' encoder (``last_only``), within 1e-2."""
    from s3rec_lite.fast import encode_packed

    model, _ = load_released({"fast": True, **PACKED, "bf16_pretraining": True}, lastfm)
    masked = golden["batch"]["masked_item_sequence"]
    with torch.no_grad():
        out = encode_packed(model, masked, causal=False, low=torch.bfloat16)[masked > 0]  # [N, 64]
    close(out, golden["bidirectional_output"][masked > 0], "bf16: bidirectional output", RTOL_BF16)
    full = masked[(masked[:, -1] > 0)]  # sequences whose last position is real: last_only needs it
    ref = golden["bidirectional_output"][(masked[:, -1] > 0), -1]
    with torch.no_grad():
        last = encode_packed(model, full, causal=False, last_only=True, low=torch.bfloat16)  # [n, 64]
    close(last, ref, "bf16: last position (last_only)", RTOL_BF16)


def test_bf16_finetuning_encoder_and_loss_match_the_authors_model(golden, lastfm):
    """``bf16_finetuning``: the causal encoder of fine-tuning with bf16 products, at the real positions, within
    1e-2 of the authors' model; and the packed fine-tuning loss within 1e-2 of the fp32 one on the same batch."""
    from s3rec_lite.batches import sample_excluding
    from s3rec_lite.fast import encode_packed, next_item_loss

    model, _ = load_released({"fast": True, **PACKED, "bf16_finetuning": True}, lastfm)
    x = golden["causal_input"]
    with torch.no_grad():
        out = encode_packed(model, x, causal=True, low=torch.bfloat16)[x > 0]  # [N, 64]
    close(out, golden["causal_output"][x > 0], "bf16: causal output", RTOL_BF16)
    y = torch.cat([x[:, 1:], x[:, -1:]], 1) * (x > 0)  # next items (a stand-in target), 0 at padding
    neg = sample_excluding(x, lastfm.mask_id, (x.shape[1],))
    with torch.no_grad():
        fp32 = next_item_loss(model, x, y, neg, "official", packed=True)
        bf16 = next_item_loss(model, x, y, neg, "official", packed=True, bf16=True)
    close(bf16, fp32, "bf16: fine-tuning loss", RTOL_BF16)
    assert relative_error(bf16, fp32, "bf16 loss") > 1e-7, "bf16_finetuning gave fp32's loss: the flag did nothing"


def test_bf16_pretraining_needs_packed_pretraining():
    from s3rec_lite import Config
    from s3rec_lite.errors import ConfigError

    with pytest.raises(ConfigError, match="bf16_pretraining works inside packed_pretraining"):
        Config(bf16_pretraining=True)
    with pytest.raises(ConfigError, match="bf16_finetuning works inside packed_finetuning"):
        Config(bf16_finetuning=True)
    assert Config().training_fingerprint() == Config(packed_pretraining=True).training_fingerprint()
    assert "bf16_pretraining" in Config(packed_pretraining=True, bf16_pretraining=True).training_fingerprint()
