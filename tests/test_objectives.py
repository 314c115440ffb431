"""Each vectorised objective against a slow loop written straight from its definition."""
import math

import pytest
import torch

from s3rec_lite import objectives as O

torch.manual_seed(0)
N, d, A, K = 7, 5, 9, 3
x, W, b = torch.randn(N, d), torch.randn(d, d), torch.randn(d)
table = torch.randn(A, d)
targets = (torch.rand(N, A) < 0.3).float()
targets[:, 0] = 0
targets[:, 1] = 1  # every row has at least one positive
pos, neg1, negK = torch.randn(N, d), torch.randn(N, d), torch.randn(N, K, d)


def f(xr, yr):  # the bilinear score (W x + b)^T y for one pair
    return float((W @ xr + b) @ yr)


def sig(z):
    return 1 / (1 + math.exp(-z))


def test_attribute_bce_official_matches_loop():
    want = 0.0
    for n in range(N):
        for a in range(A):
            p = sig(f(x[n], table[a]))
            y = float(targets[n, a])
            want += -(y * math.log(p) + (1 - y) * math.log(1 - p))
    assert O.aap_loss(x, W, b, table, targets).item() == pytest.approx(want, rel=1e-4)
    assert O.map_loss(x, W, b, table, targets).item() == pytest.approx(want, rel=1e-4)


def test_pairwise_official_matches_loop():
    want = sum(-math.log(sig(sig(f(x[n], pos[n])) - sig(f(x[n], neg1[n])))) for n in range(N))
    assert O.mip_loss(x, W, b, pos, neg1).item() == pytest.approx(want, rel=1e-5)
    assert O.sp_loss(x, W, b, pos, neg1).item() == pytest.approx(want, rel=1e-5)
    wantK = sum(-math.log(sig(sig(f(x[n], pos[n])) - sig(f(x[n], negK[n, k])))) for n in range(N) for k in range(K))
    assert O.mip_loss(x, W, b, pos, negK).item() == pytest.approx(wantK, rel=1e-5)


def test_pairwise_paper_is_infonce_with_sigmoid_critic():
    want = 0.0
    for n in range(N):
        sp = sig(f(x[n], pos[n]))
        sn = [sig(f(x[n], negK[n, k])) for k in range(K)]
        want += -math.log(math.exp(sp) / (math.exp(sp) + sum(math.exp(s) for s in sn)))
    got = O.mip_loss(x, W, b, pos, negK, variant="paper").item()
    assert got == pytest.approx(want / N, rel=1e-5)


def test_attribute_infonce_paper_matches_loop():
    total, pairs = 0.0, 0
    for n in range(N):
        s = [sig(f(x[n], table[a])) for a in range(A)]
        negs = [s[a] for a in range(1, A) if targets[n, a] == 0]
        for a in range(A):
            if targets[n, a] == 1:
                total += -math.log(math.exp(s[a]) / (math.exp(s[a]) + sum(math.exp(v) for v in negs)))
                pairs += 1
    got = O.aap_loss(x, W, b, table, targets, variant="paper").item()
    assert got == pytest.approx(total / pairs, rel=1e-5)


def test_infonce_bound_log_n():
    # a perfect critic's InfoNCE loss tends to 0; an uninformative one equals log(1 + K)
    pos_s, neg_s = torch.zeros(4), torch.zeros(4, K)
    assert O.infonce(pos_s, neg_s).mean().item() == pytest.approx(math.log(1 + K))


def test_finetune_losses():
    pl, nl = torch.tensor([[2.0, -1.0, 0.5]]), torch.tensor([[0.0, 1.0, -0.5]])
    is_t = torch.tensor([[True, True, False]])
    official = (-math.log(sig(2.0)) - math.log(1 - sig(0.0)) - math.log(sig(-1.0)) - math.log(1 - sig(1.0))) / 2
    paper = (-math.log(sig(2.0 - 0.0)) - math.log(sig(-1.0 - 1.0))) / 2
    assert O.finetune_loss(pl, nl, is_t).item() == pytest.approx(official, rel=1e-6)
    assert O.finetune_loss(pl, nl, is_t, "paper").item() == pytest.approx(paper, rel=1e-6)


def test_registry_accepts_a_fifth_objective(synthetic):
    from s3rec_lite import build_model, preset, pretrain

    calls = []

    @O.register_objective("norm_penalty")
    def norm_penalty(ctx):
        calls.append(ctx.hidden.shape)
        return ctx.hidden.pow(2).mean()

    try:
        cfg = preset("tiny", progress=False, max_users=30, loss_weights={"norm_penalty": 0.1})
        torch.manual_seed(0)
        model = build_model(cfg, synthetic, "cpu")
        hist = pretrain(model, synthetic.first_users(30), cfg, epochs=1)
        assert calls and "norm_penalty" in hist[0]
    finally:
        O.OBJECTIVES.pop("norm_penalty")


def test_unknown_objective_weight_is_a_clear_error(synthetic):
    from s3rec_lite import ConfigError, build_model, preset, pretrain

    cfg = preset("tiny", progress=False, loss_weights={"nope": 1.0})
    with pytest.raises(ConfigError, match="nope"):
        pretrain(build_model(cfg, synthetic, "cpu"), synthetic, cfg, epochs=1)


def test_dense_selection_equals_indexing(synthetic):
    """The GPU-friendly dense path (0/1 row weights over all positions) gives the indexing path's losses."""
    from s3rec_lite import build_model, preset
    from s3rec_lite.batches import PretrainCorpus
    from s3rec_lite.train import pretrain_losses

    for variant in ("official", "paper"):
        cfg = preset("tiny", objective_variant=variant, num_negatives=2)
        torch.manual_seed(0)
        model = build_model(cfg, synthetic, "cpu").eval()
        corpus = PretrainCorpus(synthetic.pretrain_parts(50), 50, synthetic.n_items)
        batch = corpus.batch(torch.arange(64), 0.2, 2, variant)
        attr = torch.as_tensor(synthetic.attribute_matrix()).float()
        sparse = pretrain_losses(model, batch, cfg, attr, dense=False)
        dense = pretrain_losses(model, batch, cfg, attr, dense=True)
        for k in sparse:
            assert dense[k].item() == pytest.approx(sparse[k].item(), rel=1e-5), (variant, k)
