"""The opt-in speed flags ``packed_pretraining`` and ``packed_finetuning`` (s3rec_lite/fast.py): the same
numbers (fp32, not bit for bit) and the same random stream as the padded path, in training mode with dropout.
Against the authors' model: tests/test_golden.py."""
from __future__ import annotations

import pytest
import torch

from s3rec_lite import Config, ConfigError, S3RecModel, build_model, fast, finetune, make_synthetic, preset
from s3rec_lite import seed_everything
from s3rec_lite.batches import PretrainCorpus, sample_excluding
from s3rec_lite.model import Dropout
from s3rec_lite.train import active_objectives, pretrain_losses, pretrain_step

PACKED = {"packed_pretraining": True, "packed_finetuning": True}


def tiny(**kw):
    return preset("tiny", progress=False, device="cpu", **kw)


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


# ------------------------------------------------------------------------------------------------
# Config: opt-in, not in the fingerprint
# ------------------------------------------------------------------------------------------------
def test_packed_flags_are_opt_in_and_left_out_of_the_fingerprint():
    cfg = Config()
    assert not cfg.packed_pretraining and not cfg.packed_finetuning  # off by default
    for value in (True, False):  # `fast` switches the four original flags, never the packed ones
        assert cfg.replace(fast=value, **PACKED).packed_pretraining
        assert not cfg.replace(fast=value).packed_finetuning
        assert not Config.from_dict({"fast": value}).packed_pretraining
    assert cfg.replace(**PACKED).fast and not cfg.replace(fast=False, **PACKED).fast
    for base in (cfg, cfg.replace(fast=False), cfg.replace(byte_dropout=False)):
        assert base.replace(**PACKED).training_fingerprint() == base.training_fingerprint()
    assert "packed" not in cfg.training_fingerprint()
    with pytest.raises(ConfigError, match="packed_finetuning must be true or false, got 1"):
        cfg.replace(packed_finetuning=1)


# ------------------------------------------------------------------------------------------------
# The pieces: masks, the packed encoder, its fall-backs
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("byte", [True, False])
@pytest.mark.parametrize("p", [0.5, 0.2])
def test_draw_keep_draws_what_the_dropout_module_draws(byte, p):
    module = (fast.ByteDropout if byte else Dropout)(p).train()
    x = torch.randn(30, 7, 50)
    torch.manual_seed(3)
    expected = module(x)
    state = torch.get_rng_state()
    torch.manual_seed(3)
    assert torch.equal(fast.apply_keep(x, fast.draw_keep(module, x.shape), p), expected)
    assert torch.equal(torch.get_rng_state(), state)
    assert fast.draw_keep(module.eval(), x.shape) is None


def _model(fast_flags: bool):
    cfg = Config().replace(fast=fast_flags)
    torch.manual_seed(0)
    return fast.apply_speed_flags(S3RecModel(cfg.arch, 60, 7), cfg)


def _ids():
    torch.manual_seed(1)
    x = torch.randint(1, 59, (37, 50))
    lengths = torch.randint(1, 51, (37,))
    x[torch.arange(50)[None] < (50 - lengths)[:, None]] = 0  # left padding, lengths 1..50
    x[3, 45] = 0  # a gap inside a sequence
    return x


@pytest.mark.parametrize("fast_flags", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_packed_encoder_equals_encode_at_real_tokens_with_the_same_draws(fast_flags, causal):
    model, x = _model(fast_flags).train(), _ids()
    for last_only in (False, True):
        torch.manual_seed(5)
        padded = model.encode(x, causal=causal, last_only=last_only)
        state = torch.get_rng_state()
        torch.manual_seed(5)
        packed = fast.encode_packed(model, x, causal=causal, last_only=last_only)
        assert torch.equal(torch.get_rng_state(), state)
        if not last_only:
            assert (packed[x == 0] == 0).all()
            padded, packed = padded[x > 0], packed[x > 0]
        torch.testing.assert_close(packed, padded, rtol=1e-5, atol=1e-6)


def test_packed_encoder_falls_back_where_it_cannot_reproduce_encode():
    model, x = _model(True).eval(), _ids()
    x[5, -1] = 0  # a padding last position: its output is defined, but packing never computes it
    assert torch.equal(fast.encode_packed(model, x, causal=True, last_only=True),
                       model.encode(x, causal=True, last_only=True))
    empty = torch.zeros(4, 50, dtype=torch.long)
    assert torch.equal(fast.encode_packed(model, empty, causal=False), model.encode(empty, causal=False))


def test_other_models_keep_their_own_path(synthetic):
    from s3rec_lite.baselines.bert4rec import BERT4Rec
    from s3rec_lite.baselines.sasrec import SASRecF

    arch = tiny().arch
    split = synthetic.split(arch.max_len)
    x, y = torch.as_tensor(split.train_inputs[:16]), torch.as_tensor(split.train_targets[:16])
    neg = torch.randint(1, synthetic.n_items, x.shape)
    for model in (BERT4Rec(arch, synthetic), SASRecF(arch, synthetic)):
        assert not fast.can_pack(model)
        model.train()
        torch.manual_seed(2)
        own = model.next_item_loss(x, y, neg)
        torch.manual_seed(2)
        assert torch.equal(fast.next_item_loss(model, x, y, neg, packed=True), own)
        model.eval()
        assert torch.equal(fast.user_representation(model, x, packed=True), model.user_representation(x))


def test_the_flags_reach_the_packed_encoder(synthetic, monkeypatch):
    calls = []
    real = fast.packed_rows
    monkeypatch.setattr(fast, "packed_rows", lambda *a, **k: calls.append(a[2].B) or real(*a, **k))
    cfg = tiny(finetune_batch_size=32, **PACKED)
    seed_everything(0)
    model = build_model(cfg, synthetic, "cpu").train()
    corpus = PretrainCorpus(synthetic.pretrain_parts(cfg.max_len), cfg.max_len, synthetic.n_items)
    attribute_matrix = torch.as_tensor(synthetic.attribute_matrix()).float()
    pretrain_losses(model, corpus.batch(torch.arange(20), 0.2), cfg, attribute_matrix)
    assert calls == [20, 60]  # the main view, then the three SP views
    calls.clear()
    finetune(model, synthetic, cfg.replace(finetune_epochs=1))
    n_train, n_users = len(synthetic.split(cfg.max_len).train_inputs), synthetic.num_users
    assert sum(calls) == n_train + 4 * n_users  # every training batch; valid (twice) and test (twice) users


# ------------------------------------------------------------------------------------------------
# The loops: the same losses, metrics and random stream
# ------------------------------------------------------------------------------------------------
def _pretrain_steps(ds, cfg, steps: int, causal: bool):
    seed_everything(cfg.seed)
    model = build_model(cfg, ds, "cpu").train()
    model.causal_pretraining = causal  # True: a unidirectional model's pre-training ("SASRec+pretrain")
    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items)
    attribute_matrix = torch.as_tensor(ds.attribute_matrix()).float()
    opt = fast.adam(model, cfg.pretrain_lr, cfg, torch.device("cpu"))
    weights = active_objectives(cfg)
    order = torch.randperm(len(corpus))
    B = cfg.pretrain_batch_size
    rows = []
    for step in range(steps):
        idx = order[step * B:(step + 1) * B]
        total, losses = pretrain_step(model, corpus, idx, cfg, attribute_matrix, opt, weights)
        rows.append({"loss": total.item(), **{k: v.item() for k, v in losses.items()}})
    return rows, torch.get_rng_state()


@pytest.mark.parametrize("fast_flags, causal", [(True, False), (False, False), (True, True)])
def test_packed_pretraining_gives_the_same_losses_and_random_stream(synthetic, fast_flags, causal):
    """Three training steps, dropout on (byte masks with `fast`, torch's otherwise; SP views apart with `fast`,
    stacked without): the losses agree to 1e-5 and the RNG ends in the same state (the same later batches)."""
    cfg = tiny(fast=fast_flags, seed=3)
    padded, padded_state = _pretrain_steps(synthetic, cfg, 3, causal)
    packed, packed_state = _pretrain_steps(synthetic, cfg.replace(packed_pretraining=True), 3, causal)
    assert torch.equal(packed_state, padded_state)
    for a, b in zip(packed, padded):
        assert a.keys() == b.keys()
        for k in a:
            assert rel(a[k], b[k]) <= 1e-5, (k, a[k], b[k])


def _finetune(ds, cfg, epochs: int = 2):
    """Fine-tune a fresh model for ``epochs`` epochs: (the result, the random state after it)."""
    seed_everything(cfg.seed)
    res = finetune(build_model(cfg, ds, "cpu"), ds, cfg, epochs=epochs)
    return res, torch.get_rng_state()


def test_packed_finetuning_gives_the_same_losses_and_metrics():
    """Two epochs with dropout on (the default flags; torch's own masks are checked above): per-epoch losses to
    1e-5, validation and test metrics to 1e-4, and the same random stream."""
    ds = make_synthetic()
    cfg = tiny(seed=2)
    (padded, padded_state), (packed, packed_state) = _finetune(ds, cfg), _finetune(ds, cfg.replace(packed_finetuning=True))
    assert torch.equal(packed_state, padded_state)
    assert len(packed["history"]) == len(padded["history"]) == 2
    for a, b in zip(packed["history"], padded["history"]):
        assert rel(a["loss"], b["loss"]) <= 1e-5, (a["loss"], b["loss"])
        for k in b:
            if k.startswith("valid_"):
                assert abs(a[k] - b[k]) <= 1e-4, (k, a[k], b[k])
    for part in ("valid", "test", "test_full_ranking"):
        for k, v in padded[part].items():
            assert abs(packed[part][k] - v) <= 1e-4, (part, k, packed[part][k], v)


def test_fused_adam_cpu_is_opt_in_and_trains_within_1e_5():
    """``fused_adam_cpu``: off by default, out of the fingerprint, and two fine-tuning epochs (packed) give the same
    losses and metrics as the plain Adam to 1e-5 / 1e-4, with the same random stream."""
    cfg = tiny(seed=2).replace(packed_finetuning=True)
    assert not Config().fused_adam_cpu
    assert cfg.replace(fused_adam_cpu=True).training_fingerprint() == cfg.training_fingerprint()
    ds = make_synthetic()
    (plain, plain_state), (fused, fused_state) = _finetune(ds, cfg), _finetune(ds, cfg.replace(fused_adam_cpu=True))
    assert torch.equal(plain_state, fused_state)
    for a, b in zip(fused["history"], plain["history"]):
        assert rel(a["loss"], b["loss"]) <= 1e-5, (a["loss"], b["loss"])
    for part in ("valid", "test"):
        for k, v in plain[part].items():
            assert abs(fused[part][k] - v) <= 1e-4, (part, k, fused[part][k], v)


def _padded_and_packed_step(model, ds, cfg):
    """One fine-tuning loss of 64 users, padded then packed, from the same random state: for each, (the loss, the
    gradients by parameter name, the random state after it), and the batch's inputs."""
    split = ds.split(cfg.max_len)
    x, y = torch.as_tensor(split.train_inputs[:64]), torch.as_tensor(split.train_targets[:64])
    users = torch.as_tensor(split.user_items)[torch.as_tensor(split.train_users[:64])]
    neg = sample_excluding(users, ds.mask_id, (x.shape[1],))
    assert bool((x == 0).any())  # padding to skip
    out = []
    for packed in (False, True):
        torch.manual_seed(9)
        model.zero_grad(set_to_none=True)
        loss = fast.next_item_loss(model, x, y, neg, "official", packed=packed)
        loss.backward()
        out.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None},
                    torch.get_rng_state()))
    return out, x


def _assert_same_step(out):
    (loss_a, grads_a, state_a), (loss_b, grads_b, state_b) = out
    assert torch.equal(state_a, state_b)  # the same dropout draws, in the same order
    torch.testing.assert_close(loss_b, loss_a, rtol=1e-5, atol=0)
    assert grads_a.keys() == grads_b.keys()
    for name, ga in grads_a.items():
        torch.testing.assert_close(grads_b[name], ga, rtol=1e-4, atol=1e-7, msg=name)
    return grads_a


def test_packed_finetuning_step_equals_the_model_loss_with_gradients(synthetic):
    cfg = tiny()
    seed_everything(0)
    out, _ = _padded_and_packed_step(build_model(cfg, synthetic, "cpu").train(), synthetic, cfg)
    _assert_same_step(out)


# ------------------------------------------------------------------------------------------------
# compile_step: opt-in, in the fingerprint when on, wired into pre-training, falls back cleanly
# ------------------------------------------------------------------------------------------------
def test_compile_step_is_opt_in_and_enters_the_fingerprint_only_when_on():
    cfg = Config()
    assert not cfg.compile_step and "compile_step" not in cfg.training_fingerprint()
    assert cfg.replace(compile_step=True).training_fingerprint() != cfg.training_fingerprint()
    with pytest.raises(ConfigError, match="compile_step must be true or false"):
        cfg.replace(compile_step="yes")


def _pretrain_history(synthetic, cfg):
    from s3rec_lite.train import pretrain

    seed_everything(cfg.seed)  # the same initial weights for every call
    return pretrain(build_model(cfg, synthetic), synthetic, cfg, epochs=1)


def test_compile_step_runs_the_loss_it_is_given_in_the_training_loop(synthetic, monkeypatch):
    """With torch.compile replaced by the identity, compile_step trains as the eager loop: the wiring. Equal to
    float rounding, not bit for bit: with compile_step the objectives select positions by 0/1 weights (``dense``),
    whose sums run over other lengths; on an AVX2 core they happened to round alike, on an AVX512 core (2026-12-08)
    they differ in the 7th digit."""
    cfg = tiny(seed=5)
    expected = _pretrain_history(synthetic, cfg)
    calls = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: calls.append(kw) or fn)
    got = _pretrain_history(synthetic, cfg.replace(compile_step=True))
    assert calls == [{"mode": None, "dynamic": False}]  # compiled once, no CUDA graphs on a CPU
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in expected], rel=1e-5)  # dense selection


def test_compile_step_falls_back_to_eager_with_one_line(synthetic, monkeypatch, capsys):
    def broken(fn, **kw):
        def call(*a, **k):
            raise RuntimeError("no C++ compiler found\nmore detail")
        return call

    cfg = tiny(seed=5)
    expected = _pretrain_history(synthetic, cfg)
    monkeypatch.setattr(torch, "compile", broken)
    got = _pretrain_history(synthetic, cfg.replace(compile_step=True))
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["note: compile_step: torch.compile failed (RuntimeError: no C++ compiler found); "
                   "running the step eagerly"]
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in expected], rel=1e-5)  # dense selection


# ------------------------------------------------------------------------------------------------
# bf16_pretraining: the packed encoder's products in bfloat16; in the fingerprint; needs packed_pretraining
# ------------------------------------------------------------------------------------------------
def test_bf16_pretraining_is_opt_in_needs_packing_and_enters_the_fingerprint():
    cfg = Config()
    assert not cfg.bf16_pretraining and "bf16" not in cfg.training_fingerprint()
    on = cfg.replace(packed_pretraining=True, bf16_pretraining=True)
    assert on.training_fingerprint() != cfg.training_fingerprint()  # other numbers: a stored run must not resume it
    with pytest.raises(ConfigError, match="bf16_pretraining works inside packed_pretraining's encoder"):
        cfg.replace(bf16_pretraining=True)
    with pytest.raises(ConfigError, match="bf16_pretraining must be true or false"):
        cfg.replace(packed_pretraining=True, bf16_pretraining="yes")


@pytest.mark.parametrize("causal", [False, True])
def test_bf16_pretraining_draws_the_same_batches_and_stays_within_1e_2(synthetic, causal):
    """Three training steps: the losses within 1e-2 of the fp32 packed path (not equal: bf16 acts), and the same
    random stream, so the same batches and dropout masks: precision is the only difference."""
    cfg = tiny(seed=3, packed_pretraining=True)
    fp32, fp32_state = _pretrain_steps(synthetic, cfg, 3, causal)
    bf16, bf16_state = _pretrain_steps(synthetic, cfg.replace(bf16_pretraining=True), 3, causal)
    assert torch.equal(bf16_state, fp32_state)
    differences = [rel(a[k], b[k]) for a, b in zip(bf16, fp32) for k in a]
    assert max(differences) <= 1e-2, differences
    assert max(differences) > 1e-7, "bf16_pretraining gave fp32's numbers: the flag did nothing"


def test_apply_keep_multiplies_as_bytes_bit_for_bit():
    """The byte multiplication gives what ``x * where(keep, 1 / (1 - p), 0)`` gives, bit for bit (signed zeros and
    NaN included), and the shift mask for 0.5 is the comparison ``byte < 128``."""
    x = torch.randn(40, 64)
    x[0, :3] = torch.tensor([-0.0, float("nan"), float("inf")])
    for p in (0.5, 0.2, 0.25):
        torch.manual_seed(1)
        keep = fast.keep_mask(x.shape, 1.0 - p, "cpu")
        expected = x * torch.where(keep, torch.tensor(1.0 / (1.0 - p)), torch.zeros(()))
        assert torch.equal(fast.apply_keep(x, keep, p).view(torch.int32), expected.view(torch.int32))
    torch.manual_seed(1)
    raw = torch.empty((40 * 64 + 7) // 8, dtype=torch.int64).random_(-(2**63), None).view(torch.uint8)[:40 * 64]
    torch.manual_seed(1)
    assert torch.equal(fast.keep_mask((40, 64), 0.5, "cpu"), (raw < 128).view(40, 64))


def test_bf16_finetuning_trains_within_1e_2_of_fp32_with_the_same_random_stream():
    """Two fine-tuning epochs with dropout: losses within 1e-2 of packed fp32 (and not equal), the same random
    stream; evaluation stays fp32, so its metrics move only through the weights."""
    ds = make_synthetic()
    cfg = tiny(seed=2, packed_finetuning=True)
    (fp32, fp32_state), (bf16, bf16_state) = _finetune(ds, cfg), _finetune(ds, cfg.replace(bf16_finetuning=True))
    assert torch.equal(bf16_state, fp32_state)
    differences = [rel(a["loss"], b["loss"]) for a, b in zip(bf16["history"], fp32["history"])]
    assert max(differences) <= 1e-2 and max(differences) > 1e-7, differences
    with pytest.raises(ConfigError, match="bf16_finetuning works inside packed_finetuning"):
        cfg.replace(packed_finetuning=False, bf16_finetuning=True)


# ------------------------------------------------------------------------------------------------
# packed_fdsa: FDSA's two stacks on the real tokens, its attribute pooling for the batch's items
# ------------------------------------------------------------------------------------------------
def _fdsa(ds, cfg):
    from s3rec_lite.zoo import build_model as build_zoo_model

    seed_everything(cfg.seed)
    return build_zoo_model("FDSA", cfg, ds)


def test_fdsa_pools_a_subset_of_items_to_the_same_rows(synthetic):
    model = _fdsa(synthetic, tiny())
    items = torch.tensor([0, 3, 7, 8, 50])  # padding (no attributes: a zero row) and four items
    torch.testing.assert_close(model.item_features(items), model.item_features()[items], rtol=1e-6, atol=1e-7)
    assert torch.equal(model.item_features(items)[0], torch.zeros(model.arch.hidden_size))


def test_packed_fdsa_is_opt_in_out_of_the_fingerprint_and_not_switched_by_packed_finetuning(synthetic):
    cfg = tiny()
    assert not Config().packed_fdsa and fast.fastest_flags("cpu")[0]["packed_fdsa"]
    assert cfg.replace(packed_fdsa=True).training_fingerprint() == cfg.training_fingerprint()
    model = _fdsa(synthetic, cfg)
    assert fast.packs_finetuning(model, cfg.replace(packed_fdsa=True))
    assert not fast.packs_finetuning(model, cfg.replace(packed_finetuning=True))  # stored FDSA runs re-run bit for bit
    assert fast.packs_finetuning(build_model(cfg, synthetic, "cpu"), cfg.replace(packed_finetuning=True))


def test_packed_fdsa_step_equals_the_model_loss_with_gradients(synthetic):
    cfg = tiny()
    model = _fdsa(synthetic, cfg).train()
    out, x = _padded_and_packed_step(model, synthetic, cfg)
    assert "attribute_scorer.0.weight" in _assert_same_step(out)  # the pooling's gradient too
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(fast.user_representation(model, x, packed=True), model.user_representation(x),
                                   rtol=1e-5, atol=1e-6)


def test_packed_fdsa_gives_the_same_losses_and_metrics():
    """Two FDSA epochs with dropout on: losses to 1e-5, metrics to 1e-4, the same random stream."""
    from s3rec_lite.train import finetune as run_finetune

    ds = make_synthetic()
    runs = []
    for flags in ({}, {"packed_fdsa": True}):
        cfg = tiny(seed=2, **flags)
        res = run_finetune(_fdsa(ds, cfg), ds, cfg, epochs=2)
        runs.append((res, torch.get_rng_state()))
    (padded, padded_state), (packed, packed_state) = runs
    assert torch.equal(packed_state, padded_state)
    for a, b in zip(packed["history"], padded["history"]):
        assert rel(a["loss"], b["loss"]) <= 1e-5, (a["loss"], b["loss"])
    for part in ("valid", "test", "test_full_ranking"):
        for k, v in padded[part].items():
            assert abs(packed[part][k] - v) <= 1e-4, (part, k, packed[part][k], v)
