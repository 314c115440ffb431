import json

import numpy as np
import pytest

from conftest import DATA_DIR, needs_data
from s3rec_lite import DataFormatError, load_dataset, make_synthetic
from s3rec_lite.data import (REGISTRY, ChecksumError, DataNotFoundError, generate_eval_negatives, verify,
                             write_dataset)


def write(tmp_path, seq_text, attr_text='{"1": [1], "2": [2], "3": [1, 2], "4": []}', sample_text=None, name="toy"):
    (tmp_path / f"{name}.txt").write_text(seq_text)
    (tmp_path / f"{name}_item2attributes.json").write_text(attr_text)
    if sample_text is not None:
        (tmp_path / f"{name}_sample.txt").write_text(sample_text)
    return tmp_path


GOOD = "1 1 2 3\n2 2 3 4\n"


def load(tmp_path, **kw):
    return load_dataset("toy", data_dir=tmp_path, allow_download=False, num_negatives=1, **kw)


def test_reads_a_good_file_and_allows_items_without_attributes(tmp_path):
    ds = load(write(tmp_path, GOOD))
    assert ds.num_users == 2 and ds.n_items == 4 and ds.n_attributes == 2
    assert ds.mask_id == 5 and ds.item_vocab_size == 6 and ds.attribute_vocab_size == 3
    assert ds.item_attributes[4] == []


def test_stats_table_counts_an_items_repeated_attribute_once(tmp_path):
    from s3rec_lite.book import plots

    ds = load(write(tmp_path, GOOD, attr_text='{"1": [1, 1], "2": [2], "3": [1, 2, 2], "4": []}'))
    row = plots.dataset_stats_table([ds]).iloc[0]
    assert row["attrs/item"] == 1.5  # six entries over four items, repeats included (stats())
    assert row["distinct attrs/item"] == 1.0  # four distinct (item, attribute) pairs: the multi-hot positives
    assert ds.attribute_matrix()[1:5].sum() == 4


@pytest.mark.parametrize("text, line, problem", [
    ("1 1 2 3\n2 2 x 4\n", 2, "item id 'x' is not an integer"),
    ("1 1 2 3\nu 2 3 4\n", 2, "user id 'u' is not an integer"),
    ("1 1 2 3\n2 2 3 4\n3 1 2 4\n4 4\n", 4, "user 4 has 1 item(s); leave-one-out needs at least 3"),
    ("1 1 2 3\n2 2 0 4\n", 2, "item id 0 out of range"),
    ("1 1 2 3\n\n2 2 3 4\n", 2, "empty line"),
    ("1 1 2 3\n1 2 3 4\n", 2, "user 1 appears again"),
])
def test_bad_sequence_files_name_file_line_and_problem(tmp_path, text, line, problem):
    write(tmp_path, text)
    with pytest.raises(DataFormatError) as err:
        load(tmp_path)
    assert err.value.line == line and problem in err.value.problem
    assert str(tmp_path / "toy.txt") in str(err.value) and f"line {line}" in str(err.value)


@pytest.mark.parametrize("attr, problem", [
    ('{"1": [1], "2": [2]', "not valid JSON"),
    ('[[1], [2]]', "expected one JSON object"),
    ('{"1": "a"}', "expected a list of integer attribute ids"),
    ('{"9": [1]}', "item id 9 out of range"),
    ('{"1": [0]}', "attribute id 0 out of range"),
    ('{"one": [1]}', "is not an integer item id"),
])
def test_bad_attribute_files(tmp_path, attr, problem):
    write(tmp_path, GOOD, attr)
    with pytest.raises(DataFormatError, match="item2attributes.json") as err:
        load(tmp_path)
    assert problem in str(err.value)


def test_sample_file_is_read_and_checked(tmp_path):
    ds = load(write(tmp_path, GOOD, sample_text="1 4\n2 1\n"))
    assert ds.eval_negatives.tolist() == [[4], [1]] and "released" in ds.negatives_source
    write(tmp_path, GOOD, sample_text="1 4\n2 99\n")
    with pytest.raises(DataFormatError, match="line 2: negative item 99 out of range"):
        load(tmp_path)


def test_checksum_mismatch_is_reported(tmp_path):
    fake = tmp_path / "LastFM.txt"
    fake.write_text("1 1 2 3\n")
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        verify(fake, REGISTRY["LastFM"]["seq"])


def test_offline_download_error_says_how_to_use_a_local_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("S3REC_DATA_DIR", raising=False)
    import urllib.request

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError, match="S3REC_DATA_DIR"):
        load_dataset("Beauty", data_dir=tmp_path)
    assert not list((tmp_path.parent).rglob(".part-*")), "no half-written file is left behind"


def test_generated_negatives_are_deterministic_and_never_the_users_items():
    ds = make_synthetic(num_users=50, num_items=150, seed=1)
    a = generate_eval_negatives(ds.sequences, ds.n_items, 99, seed=7)
    b = generate_eval_negatives(ds.sequences, ds.n_items, 99, seed=7)
    assert (a == b).all() and a.shape == (50, 99)
    for seq, negs in zip(ds.sequences, a):
        assert not set(negs) & set(seq) and len(set(negs)) == 99
        assert negs.min() >= 1 and negs.max() <= ds.n_items


def test_leave_one_out_split():
    ds = make_synthetic(num_users=5, num_items=150, seed=2)
    sp = ds.split(max_len=10)
    s = ds.sequences[0]
    def unpad(row): return row[row > 0].tolist()
    assert unpad(sp.train_inputs[0]) == s[:-3][-10:].tolist()
    assert unpad(sp.train_targets[0]) == s[1:-2][-10:].tolist()
    assert unpad(sp.valid_inputs[0]) == s[:-2][-10:].tolist() and sp.valid_answers[0] == s[-2]
    assert unpad(sp.test_inputs[0]) == s[:-1][-10:].tolist() and sp.test_answers[0] == s[-1]
    assert [len(p) for p in ds.pretrain_parts(10)] == [min(10, len(q) - 2) for q in ds.sequences]


def test_subsampling_keeps_evaluation_users():
    ds = make_synthetic(num_users=100, seed=0)
    sub = ds.subsample_training(0.4, seed=1)
    assert len(sub.train_users) == 40 and sub.num_users == 100
    assert (sub.train_users == ds.subsample_training(0.4, seed=1).train_users).all()
    sp = sub.split(50)
    assert len(sp.train_inputs) == 40 and len(sp.valid_inputs) == 100
    assert len(sub.pretrain_parts(50)) == 40


def test_synthetic_has_planted_structure():
    ds = make_synthetic(num_users=200, seed=0)
    same = np.mean([ds.cluster_of[a - 1] == ds.cluster_of[b - 1] for s in ds.sequences for a, b in zip(s[:-1], s[1:])])
    assert same > 0.7  # users mostly stay within an attribute cluster
    for item, attrs in ds.item_attributes.items():
        c = ds.cluster_of[item - 1]
        assert all(c * 3 < a <= c * 3 + 3 for a in attrs)


def test_write_then_read_roundtrip(tmp_path):
    ds = make_synthetic(num_users=20, seed=4)
    ds.name = "syn"  # "synthetic" itself always means the built-in generator
    write_dataset(ds, tmp_path)
    back = load_dataset("syn", data_dir=tmp_path, allow_download=False)
    assert all((a == b).all() for a, b in zip(back.sequences, ds.sequences))
    assert (back.eval_negatives == ds.eval_negatives).all()


@needs_data
@pytest.mark.parametrize("name, users, items, attrs", [("LastFM", 1090, 3646, 388), ("Beauty", 22363, 12101, 637)])
def test_real_datasets_match_reference_statistics(name, users, items, attrs):
    ds = load_dataset(name, allow_download=False)
    st = ds.stats()
    assert (st["users"], st["items"], st["attributes"]) == (users, items, attrs)
    assert len(ds.pretrain_parts(50)) == users
    if name == "LastFM":
        assert "released" in ds.negatives_source
        assert sum(len(p) for p in ds.pretrain_parts(50)) == 25726
    else:
        assert "generated" in ds.negatives_source
        assert sum(len(p) for p in ds.pretrain_parts(50)) == 150258


class _FakeResponse:
    def __init__(self, data: bytes):
        import io

        self._buf, self.headers = io.BytesIO(data), {"Content-Length": str(len(data))}

    def read(self, n=-1):
        return self._buf.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@needs_data
def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    import urllib.request

    from s3rec_lite.data import download

    good = (DATA_DIR / "LastFM.txt").read_bytes()
    urls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: urls.append(url) or _FakeResponse(good))
    path = download(REGISTRY["LastFM"]["seq"], tmp_path, progress=False)
    assert path == tmp_path / "LastFM.txt" and path.read_bytes() == good
    assert urls == ["https://raw.githubusercontent.com/RUCAIBox/CIKM2020-S3Rec/master/data/LastFM.txt"]
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _FakeResponse(good[:-10]))
    with pytest.raises(ChecksumError):
        download(REGISTRY["LastFM"]["seq"], tmp_path / "bad", progress=False)
    assert not any((tmp_path / "bad").iterdir()), "a corrupt download leaves no file behind"


def _lastfm_without_sample(tmp_path, monkeypatch):
    """A data folder with LastFM's sequences and attributes but not its sample file; an empty cache."""
    import shutil

    from s3rec_lite import data

    folder, cache = tmp_path / "data", tmp_path / "cache"
    folder.mkdir(), cache.mkdir()
    for f in ("LastFM.txt", "LastFM_item2attributes.json"):
        shutil.copy(DATA_DIR / f, folder / f)
    monkeypatch.setenv("S3REC_DATA_DIR", str(folder))
    monkeypatch.setenv("S3REC_CACHE_DIR", str(cache))
    monkeypatch.setattr(data, "_SAMPLE_DOWNLOAD_FAILED", set())
    return cache


@needs_data
def test_auto_negatives_download_the_released_file(tmp_path, monkeypatch):
    import urllib.request

    cache = _lastfm_without_sample(tmp_path, monkeypatch)
    good = (DATA_DIR / "LastFM_sample.txt").read_bytes()
    urls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: urls.append(url) or _FakeResponse(good))
    ds = load_dataset("LastFM", progress=False)
    assert urls == ["https://raw.githubusercontent.com/RUCAIBox/CIKM2020-S3Rec/master/data/LastFM_sample.txt"]
    assert ds.negatives_source == "released file LastFM_sample.txt" and (cache / "LastFM_sample.txt").exists()
    assert load_dataset("LastFM", allow_download=False).negatives_source == ds.negatives_source  # now local


@needs_data
def test_auto_negatives_offline_fall_back_to_generated_with_one_line(tmp_path, monkeypatch, capsys):
    import urllib.error
    import urllib.request

    _lastfm_without_sample(tmp_path, monkeypatch)
    calls = []

    def offline(url, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    ds = load_dataset("LastFM", progress=False)
    assert ds.negatives_source.startswith("generated") and len(calls) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "LastFM_sample.txt" in err[0] and "generated negatives" in err[0], err
    load_dataset("LastFM", progress=False)
    assert len(calls) == 1, "an offline machine is not asked again in the same process"
    assert load_dataset("LastFM", allow_download=False).negatives_source.startswith("generated")
    with pytest.raises(DataNotFoundError, match="LastFM_sample.txt"):
        load_dataset("LastFM", allow_download=False, negatives="released")
    with pytest.raises(DataNotFoundError, match="could not download"):
        load_dataset("LastFM", negatives="released", progress=False)
