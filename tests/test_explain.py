import torch

from s3rec_lite import build_model, make_synthetic, preset
from s3rec_lite.book import explain
from s3rec_lite.batches import PretrainCorpus


def small():
    ds = make_synthetic(num_users=40, num_items=150, num_clusters=5, min_len=6, max_len=12, seed=1)
    cfg = preset("tiny", progress=False, max_len=10, hidden_size=16, pretrain_batch_size=16, finetune_batch_size=16)
    return ds, cfg


def test_attention_weights_are_probabilities_and_respect_the_mask():
    ds, cfg = small()
    torch.manual_seed(0)
    model = build_model(cfg, ds, torch.device("cpu"))
    x = torch.tensor([[0, 0, 0, 1, 2, 3, 4, 5, 6, 7]])
    for causal in (True, False):
        maps = explain.attention_weights(model, x, causal)
        assert len(maps) == cfg.num_layers and maps[0].shape == (1, cfg.num_heads, 10, 10)
        assert torch.allclose(maps[0].sum(-1), torch.ones(1, cfg.num_heads, 10))
        assert maps[1][0, :, 5:, :3].abs().max() < 1e-6  # real queries never attend to padding keys
    causal = explain.attention_weights(model, x, True)[0]
    assert causal[0, :, 4, 5:].abs().max() < 1e-6  # nor to future keys
    assert model.training  # the mode is restored


def test_example_batch_is_the_users_whole_part():
    ds, cfg = small()
    b = explain.example_batch(ds, cfg, users=[0, 3], seed=0)
    part = ds.pretrain_parts(cfg.max_len)
    for row, u in enumerate((0, 3)):
        real = b.items[row][b.items[row] > 0]
        assert real.tolist() == part[u].tolist()
    assert bool(b.masked_positions[:, -1].all())  # official variant: the newest item is always masked
    corpus = PretrainCorpus(part, cfg.max_len, ds.n_items)
    assert explain.user_prefix_index(corpus, [len(part) - 1]).item() == len(corpus) - 1


def test_pretrain_steps_single_objective_and_determinism():
    ds, cfg = small()
    torch.manual_seed(0)
    h1 = explain.pretrain_steps(build_model(cfg, ds, torch.device("cpu")), ds, cfg, 3, objectives=["map"], seed=5)
    assert set(h1) == {"loss", "map"} and len(h1["map"]) == 3
    assert h1["loss"] == [1.0 * v for v in h1["map"]]  # MAP's paper weight is 1.0
    torch.manual_seed(0)
    h2 = explain.pretrain_steps(build_model(cfg, ds, torch.device("cpu")), ds, cfg, 3, objectives=["map"], seed=5)
    assert h1 == h2
    h = explain.pretrain_steps(build_model(cfg, ds, torch.device("cpu")), ds, cfg, 2)
    assert set(h) == {"loss", "aap", "mip", "map", "sp"}


def test_compare_rows():
    ds, cfg = small()
    rows = explain.compare(ds, {"official": cfg, "paper": cfg.replace(objective_variant="paper")}, [0], 2, 1)
    assert [r["setting"] for r in rows] == ["official", "paper"]
    assert all(r["pretrain_steps"] == 2 for r in rows)
    assert rows[1]["variant"] == "paper"
    assert rows[0]["test_NDCG@10"] != rows[1]["test_NDCG@10"]  # the variants really trained differently
    again = explain.compare(ds, {"official": cfg}, [0], 2, 1)
    assert again[0]["test_NDCG@10"] == rows[0]["test_NDCG@10"]  # and deterministically
    model = build_model(cfg, ds, torch.device("cpu"))
    counts = explain.count_parameters(model)
    assert counts["total"] == sum(p.numel() for p in model.parameters())  # counted independently


def test_attribute_top1_learns_planted_attributes():
    ds, cfg = small()
    cfg = cfg.replace(objective_variant="paper", pretrain_lr=1e-2, hidden_dropout=0.0, attention_dropout=0.0)
    torch.manual_seed(0)
    model = build_model(cfg, ds, torch.device("cpu"))
    before = explain.attribute_top1(model, ds)
    explain.pretrain_steps(model, ds, cfg, 30, objectives=["aap"], seed=0)
    after = explain.attribute_top1(model, ds)
    assert 0.0 <= before <= 1.0 and after > max(before, 0.5)
