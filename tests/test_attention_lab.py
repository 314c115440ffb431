"""The measurements of chapter 6 (s3rec_lite.book.attention_lab) and their figures (plots.attention_plots)."""
import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from conftest import needs_data  # noqa: E402
from s3rec_lite import build_model, make_synthetic, preset  # noqa: E402
from s3rec_lite.book import attention_lab as lab  # noqa: E402
from s3rec_lite.book import explain, plots  # noqa: E402
from s3rec_lite.errors import S3RecError  # noqa: E402
from s3rec_lite.model import attention_mask  # noqa: E402
from s3rec_lite.train import evaluate  # noqa: E402


def small():
    ds = make_synthetic(num_users=40, num_items=150, num_clusters=5, min_len=6, max_len=12, seed=1)
    cfg = preset("tiny", progress=False, max_len=10, hidden_size=16, finetune_batch_size=16)
    torch.manual_seed(0)
    model = build_model(cfg, ds, torch.device("cpu")).eval()
    x = torch.as_tensor(ds.split(cfg.max_len).valid_inputs[:8])  # [8, 10], some rows padded
    return ds, cfg, model, x


def test_attention_maps_are_the_models_own():
    _, cfg, model, x = small()
    for causal in (True, False):
        maps = lab.attention_maps(model, x, causal)  # [B, n, h, L, L]
        assert maps.shape == (8, cfg.num_layers, cfg.num_heads, 10, 10)
        assert torch.allclose(maps, torch.stack(explain.attention_weights(model, x, causal), 1), atol=1e-6)
        assert torch.allclose(maps.sum(-1), torch.ones(maps.shape[:-1]), atol=1e-5)
        pad_weight = (maps * (x == 0)[:, None, None, None, :]).sum(-1)  # [B, n, h, L] weight on padding keys
        assert (x == 0).any() and pad_weight.permute(0, 3, 1, 2)[x > 0].abs().max() < 1e-6
    causal = lab.attention_maps(model, x, True)
    assert causal.triu(1).permute(0, 3, 1, 2, 4)[x > 0].abs().max() < 1e-6  # real queries: nothing after them


def test_attention_probs_scale():
    torch.manual_seed(1)
    q, k = torch.randn(2, 1, 2, 5, 32).unbind(0)
    zero = torch.zeros(1, 1, 1, 5)
    scaled = lab.attention_probs(q, k, zero)
    assert torch.allclose(scaled, torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(32), -1))
    assert torch.allclose(lab.attention_probs(q, k, zero, 1.0), torch.softmax(q @ k.transpose(-1, -2), -1))


def test_row_stats_on_known_rows():
    ids = torch.tensor([[0, 5, 6, 7]])  # one padding slot
    keep = lab.visible_keys(ids, causal=True)[0]  # [4, 4]
    uniform = (keep / keep.sum(-1, keepdim=True).clamp_min(1)).float()
    s = lab.row_stats(uniform[None, None, None], ids, causal=True)
    # rows that count: query positions 2 and 3 (position 1 sees only itself, 0 is padding)
    assert s["entropy_share"].shape == (1, 1, 2)
    assert torch.allclose(s["entropy_share"], torch.ones(1, 1, 2))
    assert torch.allclose(s["distance"][0, 0], torch.tensor([0.5, 1.0]))  # mean of |i-j| over the visible keys
    assert torch.allclose(s["self"][0, 0], torch.tensor([0.5, 1 / 3]))
    assert s["future"].abs().max() == 0
    one_hot = torch.zeros(1, 1, 1, 4, 4)
    one_hot[..., :, 3] = 1.0  # every query looks at the newest item (bidirectional)
    s = lab.row_stats(one_hot, ids, causal=False)
    assert torch.allclose(s["newest"], torch.ones(1, 1, 3)) and torch.allclose(s["peak"], torch.ones(1, 1, 3))
    assert torch.allclose(s["future"][0, 0], torch.tensor([1.0, 1.0, 0.0]))
    assert s["entropy_share"].abs().max() < 1e-6
    table = lab.head_table(one_hot, ids, causal=False)
    assert table["on newest item"].iloc[0] == pytest.approx(1.0) and table["rows > 0.9"].iloc[0] == 1.0
    with pytest.raises(S3RecError, match="row_stats"):
        lab.row_stats(one_hot[0], ids, causal=False)


def test_js_divergence_bounds():
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    q = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    assert torch.allclose(lab.js_divergence(p, q), torch.tensor([1.0, 0.0]), atol=1e-6)
    _, _, model, x = small()
    maps = lab.attention_maps(model, x, causal=False)
    js = lab.heads_js(maps, x, causal=False)
    assert list(js["block"]) == [1, 2] and ((js.drop(columns="block") >= 0) & (js.drop(columns="block") <= 1)).all().all()
    same = maps[:, :, :1].expand(-1, -1, 2, -1, -1)  # two identical heads
    assert lab.heads_js(same, x, causal=False)["JS(head 1, head 2)"].abs().max() < 1e-6


def test_shuffle_items_keeps_padding_and_the_multiset():
    ids = torch.tensor([[0, 0, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7]])
    shuffled, perm = lab.shuffle_items(ids, seed=0)
    assert torch.equal(shuffled, ids.gather(1, perm))
    assert torch.equal(shuffled[0, :2], ids[0, :2])
    for b in range(2):
        assert sorted(shuffled[b].tolist()) == sorted(ids[b].tolist())
    assert not torch.equal(shuffled, ids)
    kept, _ = lab.shuffle_items(ids, seed=0, keep_last=True)
    assert torch.equal(kept[:, -1], ids[:, -1]) and not torch.equal(kept, ids)


def test_equivariance_without_positions_only_bidirectional():
    _, _, model, x = small()
    no_pos = lab.without_positions(model)
    assert model.position_embeddings.weight.abs().sum() > 0  # the original is untouched
    assert lab.equivariance_gap(no_pos, x, causal=False) < 1e-5
    assert lab.equivariance_gap(model, x, causal=False) > 1e-3
    assert lab.equivariance_gap(no_pos, x, causal=True) > 1e-3  # the causal mask carries order


def test_shuffled_split_changes_inputs_only():
    ds, cfg, _, _ = small()
    split = ds.split(cfg.max_len)
    s = lab.shuffled_split(split, seed=0)
    assert (s.valid_inputs != split.valid_inputs).any() and (s.valid_answers == split.valid_answers).all()
    assert ((s.valid_inputs > 0) == (split.valid_inputs > 0)).all()


def test_scale_table_reads_the_same_logits():
    _, cfg, model, x = small()
    t = lab.scale_table(model, x, causal=True)
    assert len(t) == 2 * cfg.num_layers
    for _, g in t.groupby("block"):
        g = g.set_index("scale")
        dh = cfg.hidden_size // cfg.num_heads
        assert g.loc["none", "logit std"] / g.loc["1/sqrt(d/h)", "logit std"] == pytest.approx(math.sqrt(dh), rel=1e-4)


def test_with_mask_forces_the_mask():
    _, _, model, x = small()
    bi = lab.with_mask(model, causal=False)
    assert torch.allclose(bi.encode(x, causal=True), model.encode(x, causal=False), atol=1e-6)
    assert torch.allclose(lab.with_mask(bi, causal=True).encode(x, causal=False), model.encode(x, causal=True), atol=1e-6)
    with pytest.raises(S3RecError, match="with_mask"):
        lab.with_mask(torch.nn.Linear(2, 2), causal=False)


def test_variant_blocks():
    _, _, model, x = small()
    same = lab.with_blocks(model)
    assert torch.equal(same.encode(x, causal=True), model.encode(x, causal=True))
    assert torch.equal(same.encode(x, causal=True, last_only=True), model.encode(x, causal=True, last_only=True))
    # FFN off in block 2: its output is LN(h), h the output of its attention sub-layer
    no_ffn = lab.with_blocks(model, ffn=False, blocks=[1])
    mask = attention_mask(x, True)
    h = model.embed(x)
    h = model.blocks[0](h, mask)
    b = model.blocks[1]
    h = b.attention_norm(h + b.attention(h, mask))
    assert torch.allclose(no_ffn.encode(x, causal=True), b.ffn_norm(h), atol=1e-5)
    for flags in ({"residual": False}, {"layer_norm": False}, {"ffn": False}):
        assert not torch.allclose(lab.with_blocks(model, **flags).encode(x, True), model.encode(x, True))
    assert type(model.blocks[0]).__name__ == "Block"  # the original is untouched
    with pytest.raises(S3RecError, match="block 5"):
        lab.with_blocks(model, blocks=[5])


def test_train_variants_is_seeded_and_trains_the_variant():
    ds, cfg, _, _ = small()
    variants = {"full": {}, "no residual": {"residual": False}}
    a = lab.train_variants(ds, cfg, variants, epochs=2)
    b = lab.train_variants(ds, cfg, variants, epochs=2)
    assert set(a) == set(variants) and all(len(h) == 2 for h in a.values())
    assert lab.curve(a["full"], "loss").tolist() == lab.curve(b["full"], "loss").tolist()
    assert lab.curve(a["full"], "loss").tolist() != lab.curve(a["no residual"], "loss").tolist()


def test_attention_figures():
    def check(fig, n=1):
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert len(axes) >= n and fig.get_size_inches()[0] <= 7.0 + 1e-9
        matplotlib.pyplot.close(fig)

    _, _, model, x = small()
    maps = lab.attention_maps(model, x[:1], False)[0]
    check(plots.attention_grid({"a": maps, "b": maps}), 8)
    ids = torch.tensor([[0, 0, 3, 4, 5]])
    check(plots.mask_panels(attention_mask(ids, True)[0, 0], attention_mask(ids, False)[0, 0]), 2)
    check(plots.equivariance_figure({"positions": 0.1, "no positions": 1e-7}, {"as recorded": 0.3, "all shuffled": 0.29}), 2)
    check(plots.scale_figure({"block 1": {"with": torch.rand(50), "without": torch.rand(50)}}))
    js = lab.heads_js(lab.attention_maps(model, x, False), x, False)
    check(plots.heads_figure({"m1": js, "m2": js}), 2)
    check(plots.mask_figure({"m1": [0.5, 0.6, 0.9, 0.9]}, {"causal": 0.3, "bidirectional": 0.31}), 2)
    hist = [{"epoch": e, "loss": 1.0 / (e + 1), "valid_NDCG@10": 0.1 * e} for e in range(3)]
    check(plots.variant_curves({"full": hist, "no residual": hist}), 2)
    check(plots.ffn_figure({"full model": 0.3, "FFN off": 0.28}))


@needs_data
def test_released_lastfm_checkpoint_is_verified_and_predicts():
    from s3rec_lite import load_dataset

    ds = load_dataset("LastFM", progress=False).first_users(200)
    model = lab.released_model(ds, preset("paper", progress=False))
    assert not model.training
    assert model.released_checkpoint["sha256"].startswith("7f06dc6e")
    assert model.released_checkpoint["schedule"]["pretrain_epochs"] == 150  # its own pre-training, not the preset's
    ndcg = evaluate(model, ds.split(50), "valid")["NDCG@10"]
    assert 0.1 < ndcg < 0.3, ndcg  # pre-trained only: far above random (0.045), below a fine-tuned model
