"""What the training loops and the command line promise: early stopping with the best model restored, the
positions each objective reads, full ranking without the user's history, and one clear line (exit 2) for
every bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO
from s3rec_lite import SequenceDataset, build_model, finetune, preset, seed_everything
from s3rec_lite.batches import PretrainCorpus
from s3rec_lite.objectives import OBJECTIVES, ObjectiveContext
from s3rec_lite.recommender import Recommender
from s3rec_lite.train import evaluate


def tiny(**kw):
    return preset("tiny", progress=False, device="cpu", **kw)


# ------------------------------------------------------------------------------------------------
# Early stopping and the best model
# ------------------------------------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_tests_the_best_epoch(synthetic):
    cfg = tiny(finetune_epochs=40, patience=2, finetune_lr=3e-2, seed=4)  # a high lr: validation soon stalls
    seed_everything(cfg.seed)
    model = build_model(cfg, synthetic, "cpu")
    res = finetune(model, synthetic, cfg)
    mrr = [row["valid_MRR"] for row in res["history"]]
    best = int(np.argmax(mrr))  # first epoch with the highest validation MRR
    assert res["best_epoch"] == best
    assert res["epochs_run"] < 40 and res["epochs_run"] == best + cfg.patience + 1  # stopped, exactly then
    assert all(m <= mrr[best] for m in mrr[best + 1:])
    # the returned model is the best epoch's: its validation metrics are that epoch's, recomputed
    split = synthetic.split(cfg.max_len)
    valid = evaluate(model, split, "valid")
    assert valid == {k[len("valid_"):]: v for k, v in res["history"][best].items() if k.startswith("valid_")}
    assert res["valid"] == valid and res["test"] == evaluate(model, split, "test")


# ------------------------------------------------------------------------------------------------
# Which rows each objective reads
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dense", [False, True])
def test_each_objective_reads_exactly_its_positions(synthetic, dense):
    """Gradients flow into the encoder output only where the objective is defined: AAP at unmasked real
    items, MIP and MAP at masked positions; SP through its three views only."""
    cfg = tiny()
    torch.manual_seed(0)
    model = build_model(cfg, synthetic, "cpu").eval()
    corpus = PretrainCorpus(synthetic.pretrain_parts(cfg.max_len), cfg.max_len, synthetic.n_items)
    batch = corpus.batch(torch.arange(0, len(corpus), 7)[:64], 0.3, 1, "official")
    attrs = torch.as_tensor(synthetic.attribute_matrix()).float()
    B, L = batch.items.shape
    expected = {"aap": batch.aap_positions, "mip": batch.masked_positions, "map": batch.masked_positions}
    assert batch.aap_positions.any() and batch.masked_positions.any()
    assert not (batch.aap_positions & batch.masked_positions).any()
    for name, rows in expected.items():
        hidden = torch.randn(B, L, cfg.hidden_size, requires_grad=True)
        ctx = ObjectiveContext(model, batch, hidden, None, None, None, "official", attrs, dense=dense)
        OBJECTIVES[name].fn(ctx).backward()
        touched = hidden.grad.abs().sum(-1) > 0  # [B, L]
        assert torch.equal(touched, rows), name
    views = [torch.randn(B, cfg.hidden_size, requires_grad=True) for _ in range(3)]
    hidden = torch.randn(B, L, cfg.hidden_size, requires_grad=True)
    OBJECTIVES["sp"].fn(ObjectiveContext(model, batch, hidden, *views, "official", attrs, dense=dense)).backward()
    assert hidden.grad is None and all(v.grad is not None and v.grad.abs().sum() > 0 for v in views)


# ------------------------------------------------------------------------------------------------
# Full ranking excludes the whole history
# ------------------------------------------------------------------------------------------------
class ItemIdScorer(Recommender):
    """Scores item j as j (ties impossible): the best-ranked candidates are the largest ids."""

    def __init__(self, n_items):
        super().__init__(preset("tiny").arch, n_items + 2, 2)
        self.w = torch.nn.Parameter(torch.zeros(1))

    def user_representation(self, item_ids):
        return torch.zeros(len(item_ids), 1)

    def score_all(self, hidden):
        return torch.arange(self.item_vocab_size, dtype=torch.float32).expand(len(hidden), -1).clone()


def test_full_ranking_removes_every_earlier_item_not_only_the_input_window():
    n_items, L = 30, 5
    # one user with 12 items: the 50 -> 5-item window sees only the last 5 before the target
    seq = np.array([29, 28, 27, 26, 25, 1, 2, 3, 4, 5, 6, 7])
    ds = SequenceDataset("toy", np.array([1]), [seq], {}, n_items, 1)
    split = ds.split(L)
    assert 29 not in split.test_inputs[0]  # item 29 is outside the window...
    ranks = evaluate(ItemIdScorer(n_items), split, "test", full_ranking=True)
    # ...but the user did interact with it: the items scored above the answer 7 are 8..30 (31 is the mask
    # token), 23 of them, minus the history 25..29: rank 18 (0-based), inside the top 20. Excluding only the
    # window would leave 23 items above it: outside the top 20.
    assert ranks["HR@10"] == 0.0 and ranks["HR@20"] == 1.0
    assert ranks["NDCG@20"] == pytest.approx(1 / np.log2(18 + 2))


# ------------------------------------------------------------------------------------------------
# Bad input: one line, exit 2
# ------------------------------------------------------------------------------------------------
def cli(*args):
    return subprocess.run([sys.executable, "-m", "s3rec_lite", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)


@pytest.mark.parametrize("setting, message", [
    ("hidden_size=abc", "hidden_size must be an integer, got 'abc'"),
    ("num_heads=0", "num_heads must be at least 1, got 0"),
    ("loss_weights.sp=x", "loss_weights.sp must be a number, got 'x'"),
    ("pretrain_epochs=-5", "pretrain_epochs must be at least 0, got -5"),
    ("mask_ratio=1.5", "mask_ratio must be in [0, 1), got 1.5"),
    ("hidden_size=31", "hidden_size (31) must be divisible by num_heads (2)"),
    ("finetune_lr=0", "finetune_lr must be positive, got 0"),
    ("device=gpu", "device must be 'auto', 'cpu' or 'cuda[:N]', got 'gpu'"),
    ("early_stopping=AUC", "early_stopping must be one of 'MRR', 'full NDCG@20', got 'AUC'"),
    ("no_such_field=1", "unknown config field 'no_such_field'"),
    ("byte_dropout=1", "byte_dropout must be true or false, got 1"),
])
def test_every_bad_setting_exits_2_with_one_line_naming_it(setting, message, tmp_path):
    for cmd in (["reproduce", "--dataset", "synthetic", "--preset", "tiny"], ["experiment", "table2", "--preset", "tiny", "--list"]):
        p = cli(*cmd, "--set", setting, *(["--out", str(tmp_path / "o")] if cmd[0] == "reproduce" else []))
        assert p.returncode == 2, (cmd, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr and p.stderr.strip().count("\n") == 0, p.stderr
        assert message in p.stderr, p.stderr


def test_an_out_folder_of_another_model_is_refused_naming_both(tmp_path):
    out = str(tmp_path / "o")
    common = ["--dataset", "synthetic", "--preset", "tiny", "--quiet", "--out", out, "--set", "finetune_epochs=1"]
    assert cli("finetune", "--model", "SASRec", *common).returncode == 0
    p = cli("finetune", "--model", "GRU4Rec", *common)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.strip().count("\n") == 0, p.stderr
    assert "(SASRec on synthetic), not of `finetune` (GRU4Rec on synthetic)" in p.stderr


def test_full_ranking_finetuning_early_stops_on_full_ndcg20(tmp_path):
    out = tmp_path / "o"
    p = cli("finetune", "--dataset", "synthetic", "--preset", "tiny", "--quiet", "--full-ranking", "--out", str(out))
    assert p.returncode == 0, p.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["early_stopping"] == "full NDCG@20"
    ndcg20 = [row["valid_full_NDCG@20"] for row in res["history"]]
    assert res["best_epoch"] == int(np.argmax(ndcg20))
