import pytest
import torch

from s3rec_lite import Config, S3RecModel
from s3rec_lite.fast import ByteDropout, apply_speed_flags, byte_dropout, keep_mask
from s3rec_lite.model import Dropout, attention_mask


def make(fast=True):
    torch.manual_seed(0)
    cfg = Config().replace(fast=fast)
    return apply_speed_flags(S3RecModel(cfg.arch, item_vocab_size=30, attribute_vocab_size=7), cfg).eval()


def batch():
    torch.manual_seed(1)
    x = torch.randint(1, 29, (4, 50))
    x[0, :45] = 0
    x[1, :10] = 0
    return x


def test_shapes():
    m, x = make(), batch()
    assert m.encode(x, causal=False).shape == (4, 50, 64)
    assert m.encode(x, causal=True, last_only=True).shape == (4, 64)
    assert m.score_all(m.user_representation(x)).shape == (4, 30)


def test_causal_mask_blocks_the_future():
    m, x = make(), batch()
    y = x.clone()
    y[:, 40:] = torch.randint(1, 29, (4, 10))  # change only the future of position 39
    a, b = m.encode(x, causal=True), m.encode(y, causal=True)
    # real positions before 40 are unchanged (padding queries are irrelevant and not compared)
    assert torch.allclose(a[2:, :40], b[2:, :40], atol=1e-6)
    assert torch.allclose(a[1, 10:40], b[1, 10:40], atol=1e-6)
    bi_a, bi_b = m.encode(x, causal=False), m.encode(y, causal=False)
    assert not torch.allclose(bi_a[1:, :40], bi_b[1:, :40]), "bidirectional attention does see the future"


def test_mask_values():
    x = torch.tensor([[0, 5, 6]])
    assert attention_mask(x, causal=False).tolist() == [[[[-1e8, 0, 0]]]]
    c = attention_mask(x, causal=True)[0, 0]
    assert c[1].tolist() == [-10000.0, 0.0, -10000.0] and c[2].tolist() == [-10000.0, 0.0, 0.0]


def test_padding_content_is_irrelevant():
    m, x = make(), batch()
    y = x.clone()
    y[0, :45] = 0
    out_x = m.encode(x, causal=False)[0, 45:]
    m.item_embeddings.weight.data[0] += 1.0  # the padding row changes nothing visible
    assert torch.allclose(m.encode(y, causal=False)[0, 45:], out_x, atol=1e-5)


def test_last_only_and_fused_attention_equal_the_plain_path():
    fast, plain, x = make(True), make(False), batch()
    for causal in (True, False):
        full = plain.encode(x, causal=causal)
        assert torch.allclose(fast.encode(x, causal=causal), full, atol=1e-5)
        assert torch.allclose(fast.encode(x, causal=causal, last_only=True), full[:, -1], atol=1e-5)


@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_keep_mask_rate(keep):
    torch.manual_seed(0)
    m = keep_mask((200, 1000), keep, "cpu")
    assert m.dtype == torch.bool and abs(m.float().mean().item() - keep) < 0.005


def test_training_dropout_is_applied():
    m, x = make(), batch()
    m.train()
    a, b = m.encode(x, causal=False), m.encode(x, causal=False)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_byte_dropout_zeroes_with_rate_p_and_scales_the_rest_by_1_over_1_minus_p(p):
    torch.manual_seed(0)
    x = torch.full((400, 500), 3.0)
    y = byte_dropout(x, p, training=True)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - p) < 0.005  # dropped with probability p
    assert torch.allclose(y[kept], torch.full_like(y[kept], 3.0 / (1 - p)))  # survivors scaled exactly
    assert abs(y.mean().item() - 3.0) < 0.03  # so the expectation is unchanged
    assert torch.equal(byte_dropout(x, p, training=False), x)


def test_speed_flags_swap_only_the_package_dropout_and_set_fused_attention():
    fast, plain = make(True), make(False)
    assert {type(m) for m in fast.modules() if isinstance(m, torch.nn.Dropout)} == {ByteDropout}
    assert {type(m) for m in plain.modules() if isinstance(m, torch.nn.Dropout)} == {Dropout}
    assert all(b.attention.fused for b in fast.blocks) and not any(b.attention.fused for b in plain.blocks)
    other = torch.nn.Sequential(torch.nn.Dropout(0.5))  # a foreign dropout (Caser's) is left alone
    apply_speed_flags(other, Config())
    assert type(other[0]) is torch.nn.Dropout
