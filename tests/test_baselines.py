"""Baselines (s3rec_lite.baselines): every model trains and evaluates end to end through the shared loop,
has the interface's shapes, and one thing that can go wrong in it is checked."""
import math

import pytest
import torch

from s3rec_lite import make_synthetic, preset
from s3rec_lite.experiments import FIG3_PAIRS
from s3rec_lite.baselines.bert4rec import cloze_mask, training_sequence
from s3rec_lite.baselines.common import AttributeTable, left_to_right_padding, right_to_left
from s3rec_lite.checkpoint import save_model
from s3rec_lite.train import evaluate, finetune, pretrain, pretrain_losses, seed_everything
from s3rec_lite.zoo import MODELS, build_model, get_model_spec, load_model, pretrain_model

from conftest import HAVE_DATA, needs_data

MUST_HAVE = ["PopRec", "SASRec", "GRU4Rec", "BERT4Rec", "FDSA", "SASRec_F", "GRU4Rec_F", "Caser"]
EXTRA = ["HGN", "FM", "AutoInt"]
PRETRAINED = [p for _, p in FIG3_PAIRS]


@pytest.fixture(scope="module")
def ds():
    return make_synthetic(num_users=40, num_items=160, num_clusters=6, seed=3)


@pytest.fixture(scope="module")
def cfg():
    # small and quick: the point is that every path runs, not what it learns
    return preset("tiny", hidden_size=16, num_heads=1, num_layers=1, max_len=12, pretrain_epochs=1,
                  finetune_epochs=2, pretrain_batch_size=512, finetune_batch_size=128, progress=False, device="cpu")


def build(name, cfg, ds):
    seed_everything(0)
    return build_model(name, cfg, ds)


def test_every_model_is_registered_with_a_citation():
    for name in MUST_HAVE + EXTRA + PRETRAINED:
        spec = get_model_spec(name)
        assert spec.citation, name
        assert bool(spec.pretrain) == name.endswith("+pretrain")
        assert spec.pretrain == ("borrow" if name in ("Caser+pretrain", "AutoInt+pretrain") else
                                 "objectives" if name.endswith("+pretrain") else None)
    assert get_model_spec("PopRec").trainable is False


@pytest.mark.parametrize("name", MUST_HAVE + EXTRA + PRETRAINED)
def test_trains_evaluates_and_reloads_end_to_end(name, cfg, ds, tmp_path):
    spec = get_model_spec(name)
    model = build(name, cfg, ds)
    if spec.pretrain:
        history = pretrain_model(name, model, ds, cfg)
        assert len(history) == 1 and math.isfinite(history[0]["loss"])
    result = finetune(model, ds, cfg)
    assert result["epochs_run"] == (2 if spec.trainable else 0)
    split_ = ds.split(cfg.max_len)  # the returned metrics are those of the model the loop left (the best one)
    assert result["test"] == evaluate(model, split_, "test")
    assert result["test_full_ranking"] == evaluate(model, split_, "test", full_ranking=True)
    if spec.trainable:
        assert all(math.isfinite(row["loss"]) for row in result["history"])
    # the checkpoint records the zoo name and rebuilds the same class with the same scores
    save_model(model, tmp_path / "m.pt", ds.name)
    again, info = load_model(tmp_path / "m.pt", cfg, ds)
    assert type(again) is type(model) and info["model_name"] == getattr(model, "zoo_name", "S3-Rec")
    x = torch.as_tensor(ds.split(cfg.max_len).test_inputs[:5])
    model.eval(), again.eval()
    with torch.no_grad():
        assert torch.allclose(model.score_all(model.user_representation(x)), again.score_all(again.user_representation(x)))


@pytest.mark.parametrize("name", MUST_HAVE + EXTRA)
def test_forward_shapes(name, cfg, ds):
    model = build(name, cfg, ds).eval()
    B, L, V = 3, cfg.max_len, ds.item_vocab_size
    x = torch.as_tensor(ds.split(cfg.max_len).test_inputs[:B])
    x[0, : L - 2] = 0  # a short history
    h = model.user_representation(x)
    assert h.dim() == 2 and h.shape[0] == B
    assert model.score_candidates(h, torch.randint(1, V - 1, (B, 7))).shape == (B, 7)
    assert model.score_all(h).shape == (B, V)
    assert model.item_embeddings.num_embeddings == V and model.mask_id == V - 1
    if name != "BERT4Rec":  # BERT4Rec's own loss replaces next_item_logits
        pos, neg = model.next_item_logits(x, x, x)
        assert pos.shape == neg.shape == (B, L)
    if name not in ("PopRec",):
        assert model.encode(x, causal=True).shape == (B, L, cfg.hidden_size)
        assert torch.allclose(model.encode(x, causal=True, last_only=True), model.encode(x, causal=True)[:, -1], atol=1e-5)


# --- one thing that can go wrong, per model --------------------------------------------------------
def test_poprec_counts_training_items_only_and_ignores_the_user(cfg, ds):
    model = build("PopRec", cfg, ds)
    counts = torch.zeros(ds.item_vocab_size)
    for s in ds.sequences:
        for i in s[:-2]:  # validation and test items are not training data
            counts[i] += 1
    assert torch.equal(model.popularity, counts)
    x = torch.as_tensor(ds.split(cfg.max_len).test_inputs[:4])
    scores = model.score_all(model.user_representation(x))
    assert torch.equal(scores[0], scores[3])  # the same ranking for everyone
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("name", ["GRU4Rec", "GRU4Rec_F"])
def test_gru4rec_padding_does_not_change_outputs_and_the_future_is_unseen(name, cfg, ds):
    model = build(name, cfg, ds).eval()
    seq = torch.tensor([[5, 9, 17, 33, 2]])
    short = torch.cat([torch.zeros(1, 3, dtype=torch.long), seq], 1)  # [0 0 0 5 9 17 33 2]
    longer = torch.cat([torch.zeros(1, 7, dtype=torch.long), seq], 1)
    with torch.no_grad():
        a, b = model.encode(short), model.encode(longer)
        assert torch.allclose(a[:, 3:], b[:, 7:], atol=1e-6)  # more padding, same outputs
        assert a[:, :3].abs().max() == 0  # padding outputs are zero
        changed = short.clone()
        changed[0, -1] = 40  # the newest item
        c = model.encode(changed)
        assert torch.allclose(a[:, :-1], c[:, :-1], atol=1e-6)  # earlier outputs never see later items
    right, lengths, _ = left_to_right_padding(short)
    assert right[0, :5].tolist() == seq[0].tolist() and lengths.tolist() == [5]
    assert torch.equal(right_to_left(right[..., None].float(), lengths)[..., 0].long(), short)


def test_bert4rec_masking_never_touches_padding_and_always_leaves_a_target(cfg, ds):
    seed_everything(1)
    seq = torch.tensor([[0, 0, 0, 4, 5, 6], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 7]]).repeat(50, 1)
    inputs, masked = cloze_mask(seq, prob=0.6, mask_id=99)
    assert not masked[seq == 0].any()  # padding is never a target
    assert masked.any(1).all()  # every row has at least one target
    assert (inputs[masked] == 99).all() and torch.equal(inputs[~masked], seq[~masked])
    assert 0.45 < masked[seq > 0].float().mean() < 0.75
    # the training sequence is seq[:-2]: y = seq[1:-2], plus x's first item where there is room
    x = torch.tensor([[0, 0, 1, 2], [3, 4, 5, 6]])
    y = torch.tensor([[0, 0, 2, 3], [4, 5, 6, 7]])
    assert training_sequence(x, y).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    # a batch of users with empty training parts gives a zero loss, not NaN
    model = build("BERT4Rec", cfg, ds)
    empty = torch.zeros(2, cfg.max_len, dtype=torch.long)
    loss = model.next_item_loss(empty, empty, empty)
    assert loss.item() == 0.0


def test_bert4rec_is_bidirectional_and_predicts_from_an_appended_mask(cfg, ds):
    model = build("BERT4Rec", cfg, ds).eval()
    x = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 3, 4, 5, 6, 8]])
    with torch.no_grad():
        a = model.encode(x, causal=True)  # ``causal`` is ignored: BERT4Rec always looks both ways
        changed = x.clone()
        changed[0, -1] = 9
        assert not torch.allclose(a[:, -2], model.encode(changed)[:, -2])  # the past sees the future
        h = model.user_representation(x)
        appended = torch.cat([x[:, 1:], torch.tensor([[model.mask_id]])], 1)
        assert torch.allclose(h, model.output_transform(model.encode(appended)[:, -1]))
        logits = model._logits_all(h)
        assert logits[0, 0] == -math.inf and logits[0, model.mask_id] == -math.inf  # never recommended


def test_fdsa_attribute_pooling_is_an_attention_average_over_the_items_own_attributes(cfg, ds):
    model = build("FDSA", cfg, ds)
    table = AttributeTable({1: [2, 3], 2: [3, 0], 4: [5, 1, 2]}, item_vocab_size=6)
    emb = torch.randn(7, 4)
    scores = torch.randn(len(table.attr_ids))
    w = table.attention_weights(scores)
    for item in (1, 2, 4):
        assert torch.isclose(w[table.owner == item].sum(), torch.tensor(1.0))
    pooled = table.attend(emb, lambda a: a[:, 0])  # score = first coordinate
    expect = torch.softmax(emb[[1, 2, 5], 0], 0) @ emb[[1, 2, 5]]  # item 4's attributes, in any order
    assert torch.allclose(pooled[4], expect, atol=1e-6)
    assert torch.allclose(pooled[2], emb[3])  # attribute 0 (padding) is dropped
    assert pooled[0].abs().max() == 0 and pooled[3].abs().max() == 0 and pooled[5].abs().max() == 0  # none
    assert torch.allclose(table.mean(emb)[1], emb[[2, 3]].mean(0))
    feats = model.item_features()
    assert feats.shape == (ds.item_vocab_size, cfg.hidden_size)
    assert feats[0].abs().max() == 0 and feats[model.mask_id].abs().max() == 0


@pytest.mark.parametrize("name", ["Caser", "HGN"])
def test_window_models_see_only_their_window(name, cfg, ds):
    model = build(name, cfg, ds).eval()
    x = torch.arange(1, cfg.max_len + 1)[None]  # items 1..L
    with torch.no_grad():
        a = model.encode(x)[:, -1]
        old = x.clone()
        old[0, -model.window - 1] = 50  # just outside the last window
        assert torch.allclose(a, model.encode(old)[:, -1])
        recent = x.clone()
        recent[0, -model.window] = 50  # inside it
        assert not torch.allclose(a, model.encode(recent)[:, -1])
    assert model.item_embeddings.weight[0].abs().max() == 0  # padding inside a window adds nothing


def test_sasrec_f_input_carries_the_attributes_and_attention_stays_causal(cfg, ds):
    model = build("SASRec_F", cfg, ds).eval()
    x = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 3, 4, 5, 6, 8]])
    with torch.no_grad():
        a = model.encode(x, causal=True)
        changed = x.clone()
        changed[0, -1] = 9
        # real positions never see later items (padding rows attend uniformly, as in the authors' code)
        assert torch.allclose(a[:, 7:-1], model.encode(changed, causal=True)[:, 7:-1], atol=1e-5)
        before = model.embed(x)
        attr = ds.item_attributes[8][0]  # an attribute of item 8
        model.attribute_embeddings.weight[attr] += 1.0
        changed = (model.embed(x) - before).abs().amax(-1)[0] > 1e-6  # [L]
    has_attr = torch.tensor([attr in ds.item_attributes.get(int(i), []) for i in x[0]])
    assert has_attr[-1] and torch.equal(changed, has_attr)  # exactly the items carrying that attribute


def test_fm_scores_are_the_pairwise_interactions_of_user_item_and_attributes(cfg, ds):
    model = build("FM", cfg, ds).eval()
    x = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 3, 7, 4, 9]])
    with torch.no_grad():
        u = model.encode(x, last_only=True)
        assert torch.allclose(u[0], model.history_embeddings(x[0, -4:]).mean(0))  # the bag of items
        assert torch.allclose(model.encode(x)[:, -2], model.encode(x[:, :-1], last_only=True))  # no future
        j = torch.tensor([[5]])
        v, a = model.item_embeddings.weight[5], model.attributes.mean(model.attribute_embeddings.weight)[5]
        expect = model.global_bias + model.item_bias.weight[5] + u[0] @ v + u[0] @ a + v @ a
        assert torch.allclose(model.score_candidates(u, j)[0], expect)
        assert torch.allclose(model.score_all(u)[0, 5], expect[0])


def test_unidirectional_models_pretrain_causally_and_s3rec_bidirectionally(cfg, ds):
    from s3rec_lite.batches import PretrainCorpus

    corpus = PretrainCorpus(ds.pretrain_parts(cfg.max_len), cfg.max_len, ds.n_items)
    batch = corpus.batch(torch.arange(8), cfg.mask_ratio)
    attrs = torch.as_tensor(ds.attribute_matrix()).float()
    for name, causal in (("S3-Rec", False), ("SASRec+pretrain", True), ("SASRec_F+pretrain", True),
                         ("GRU4Rec+pretrain", True)):
        model = build(name, cfg, ds)
        seen = []
        encode = model.encode
        model.encode = lambda ids, causal, last_only=False: seen.append(causal) or encode(ids, causal, last_only)
        losses = pretrain_losses(model, batch, cfg, attrs)
        assert set(seen) == {causal}, name
        assert all(torch.isfinite(v) for v in losses.values())
        model.eval()  # no dropout: the GPU's dense selection gives the same losses
        sparse, dense = pretrain_losses(model, batch, cfg, attrs, dense=False), pretrain_losses(model, batch, cfg, attrs, dense=True)
        assert all(torch.allclose(sparse[k], dense[k], rtol=1e-4, atol=1e-4) for k in sparse), name


def test_caser_and_autoint_pretrain_borrow_s3rec_embeddings_only(cfg, ds):
    for name, same in (("Caser+pretrain", "output_embeddings"), ("AutoInt+pretrain", "history_embeddings")):
        model = build(name, cfg, ds)
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        pretrain_model(name, model, ds, cfg)
        w = model.item_embeddings.weight
        assert not torch.allclose(w, before["item_embeddings.weight"]) and torch.equal(w, getattr(model, same).weight)
        changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
        assert changed == {f"{mine}.weight" for mine, _ in model.borrowed}, name  # nothing else is touched


@needs_data
@pytest.mark.parametrize("name", ["PopRec", "FDSA"])
def test_reproduce_lastfm_tiny_from_the_command_line(name, tmp_path, capsys):
    import json

    from s3rec_lite.cli import main

    rc = main(["reproduce", "--dataset", "LastFM", "--preset", "tiny", "--model", name, "--out", str(tmp_path),
               "--quiet", "--device", "cpu", "--max-users", "60", "--set", "max_len=20", "--set", "hidden_size=16",
               "--set", "finetune_epochs=1", "--no-download"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stored = json.loads((tmp_path / "results.json").read_text())
    assert summary["test"] == stored["test"]
    assert stored["model"] == name


# --- Fig. 3: the other_models experiment and its figure ---------------------------------------------
def test_other_models_experiment_pairs_every_model_with_its_pretrained_variant():
    from s3rec_lite.experiments import get_experiment

    runs = get_experiment("other_models").fn("tiny", None, [1, 2])
    models = {r.model for r in runs}
    assert models == {m for pair in FIG3_PAIRS for m in pair} and all(m in MODELS for m in models)
    assert {r.dataset for r in runs} == {"LastFM"} and len(runs) == 2 * len(models) == 2 * 2 * 6
    assert {r.dataset for r in get_experiment("other_models").fn("paper", ["Toys_and_Games"], [1])} == {"Toys_and_Games"}


def test_other_models_runs_into_the_store_and_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from s3rec_lite.experiments import main
    from s3rec_lite.book.plots import other_models_frame, plot_other_models

    rc = main(["other_models", "--preset", "tiny", "--datasets", "synthetic", "--models", "GRU4Rec",
               "GRU4Rec+pretrain", "--device", "cpu", "--quiet", "--results", str(tmp_path / "results"),
               "--runs", str(tmp_path / "runs"), "--set", "max_users=40", "--set", "hidden_size=16",
               "--set", "num_heads=1", "--set", "max_len=12", "--set", "pretrain_epochs=1",
               "--set", "finetune_epochs=1"])
    assert rc == 0
    df = other_models_frame("tiny", tmp_path / "results")
    assert list(df.pretrained) == [False, True] and set(df.model) == {"GRU4Rec"}
    fig = plot_other_models("tiny", tmp_path / "results")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "test NDCG@10" and "applied to other models" in fig._suptitle.get_text()
