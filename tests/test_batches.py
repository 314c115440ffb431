"""Invariants of the tensor-built pre-training batches and of negative sampling."""
import numpy as np
import pytest
import torch

from s3rec_lite.batches import PretrainCorpus, distinct_sorted, sample_excluding


@pytest.fixture
def corpus(synthetic):
    return PretrainCorpus(synthetic.pretrain_parts(50), 50, synthetic.n_items)


def test_prefixes_are_every_prefix_of_every_part(synthetic, corpus):
    parts = synthetic.pretrain_parts(50)
    assert len(corpus) == sum(len(p) for p in parts)
    items, lengths = corpus.gather(torch.arange(len(corpus)))
    k = 0
    for p in parts:
        for i in range(len(p)):
            row = items[k].numpy()
            assert lengths[k] == i + 1
            assert (row[: 50 - (i + 1)] == 0).all()  # left padding
            assert (row[50 - (i + 1):] == p[: i + 1]).all()
            k += 1


def test_masking_invariants(synthetic, corpus):
    torch.manual_seed(0)
    bt = corpus.batch(torch.arange(len(corpus)), mask_ratio=0.2)
    real = bt.items > 0
    mask_id = synthetic.mask_id
    assert bt.masked_positions[:, -1].all(), "official: the newest item is always masked"
    assert not (bt.masked_positions & ~real).any(), "padding is never masked"
    assert (bt.inputs[~real] == 0).all()
    assert (bt.inputs[bt.masked_positions] == mask_id).all()
    assert (bt.inputs[real & ~bt.masked_positions] == bt.items[real & ~bt.masked_positions]).all()
    # ratio over the non-last positions is p
    rate = bt.masked_positions[:, :-1][real[:, :-1]].float().mean().item()
    assert abs(rate - 0.2) < 0.02
    assert (bt.aap_positions == (real & ~bt.masked_positions)).all()


def test_negatives_never_in_the_sequence(synthetic, corpus):
    torch.manual_seed(1)
    bt = corpus.batch(torch.arange(len(corpus)), 0.2, num_negatives=4)
    neg = bt.negative_items  # [B, L, K]
    assert neg.min() >= 1 and neg.max() <= synthetic.mask_id  # official: 1..mask_id
    clash = (neg[:, :, :, None] == bt.items[:, None, None, :]).any(-1)
    assert not clash.any()
    paper = corpus.batch(torch.arange(len(corpus)), 0.2, variant="paper").negative_items
    assert paper.max() <= synthetic.n_items  # paper: real items only


def test_segment_invariants(synthetic, corpus):
    torch.manual_seed(2)
    bt = corpus.batch(torch.arange(len(corpus)), 0.2)
    mask_id = synthetic.mask_id
    flat = corpus.flat.numpy()
    for r in range(len(bt.items)):
        items, n = bt.items[r].numpy(), int(bt.lengths[r])
        ctx, pos, neg = (t[r].numpy() for t in (bt.segment_context, bt.segment_pos, bt.segment_neg))
        if n < 2:
            assert (ctx == items).all() and (pos == items).all() and (neg == items).all()
            continue
        seg = np.flatnonzero(ctx == mask_id)
        assert 1 <= len(seg) <= n // 2
        assert (np.diff(seg) == 1).all(), "the segment is contiguous"
        assert seg.min() >= 50 - n
        assert (pos[seg] == items[seg]).all()
        outside = np.setdiff1d(np.arange(50 - n, 50), seg)
        assert (pos[outside] == mask_id).all() and (neg[outside] == mask_id).all()
        assert (pos[: 50 - n] == 0).all() and (neg[: 50 - n] == 0).all()
        window = neg[seg]
        starts = np.flatnonzero(flat[: len(flat) - len(seg) + 1] == window[0])
        assert any((flat[s:s + len(seg)] == window).all() for s in starts), "negative segment comes from the corpus"


def test_sample_excluding_is_exact_and_uniform():
    torch.manual_seed(0)
    excluded = distinct_sorted(torch.tensor([[3, 1, 3, 0, 7], [0, 0, 0, 0, 2]]), sentinel=11)
    assert excluded.tolist() == [[1, 3, 7, 11, 11], [2, 11, 11, 11, 11]]
    draws = sample_excluding(excluded, 10, (20000,))
    row0, row1 = draws[0].numpy(), draws[1].numpy()
    assert set(row0) == {2, 4, 5, 6, 8, 9, 10}
    assert set(row1) == {1, 3, 4, 5, 6, 7, 8, 9, 10}
    counts = np.bincount(row0, minlength=11)[[2, 4, 5, 6, 8, 9, 10]]
    assert counts.min() > 0.8 * 20000 / 7 and counts.max() < 1.2 * 20000 / 7
