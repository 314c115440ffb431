"""scripts/probe_objectives.py (chapter 12's probe on the ablation's checkpoints) and the JSON it stored."""
from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, needs_data

STORED = REPO / "results" / "official" / "probe_objectives" / "LastFM.json"  # pre-training seed 1
SEEDS = {1: STORED, **{int(p.stem.rsplit("seed", 1)[1]): p for p in STORED.parent.glob("LastFM-seed*.json")}}
SCRIPT = REPO / "scripts" / "probe_objectives.py"
VARIANTS = {"full", "no-aap", "no-mip", "no-map", "no-sp"}


def _run(*args, cwd=REPO):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_the_stored_probe_has_every_variant_with_provenance(seed):
    data = json.loads(SEEDS[seed].read_text())
    assert data.get("pretrain_seed", 1) == seed
    assert set(data["variants"]) == VARIANTS
    prov = data["provenance"]
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", prov["commit"]), prov["commit"]
    assert prov["command"].startswith("python scripts/probe_objectives.py") and prov["date"] and prov["device"]
    assert re.fullmatch(r"[0-9a-f]{64}", data["script"]["sha256"]) and data["script"]["path"] == "scripts/probe_objectives.py"
    k = len(data["attributes"])
    assert k == 20 and len(data["attribute_names"]) == k
    # the settings are those chapter 12's probe uses (the defaults of probe_auc)
    from s3rec_lite.book import representations as R

    defaults = inspect.signature(R.probe_auc).parameters
    assert data["probe"]["seeds"] == list(defaults["seeds"].default)
    assert data["probe"]["test_fraction"] == defaults["test_fraction"].default
    assert data["probe"]["weight_decay"] == defaults["weight_decay"].default
    for name, v in data["variants"].items():
        per_seed = np.array(v["per_seed"])  # [splits, tags]
        assert per_seed.shape == (len(data["probe"]["seeds"]), k), name
        assert ((per_seed >= 0) & (per_seed <= 1)).all(), name
        assert np.allclose(per_seed.mean(0), v["per_attribute"]) and np.isclose(per_seed.mean(), v["mean_auc"]), name
        assert re.fullmatch(r"[0-9a-f]{64}", v["checkpoint"]["sha256"]), name
        # the checkpoint is the pre-training of the stored ablation run it names
        result = json.loads((REPO / v["result"]).read_text())
        assert result["key"] == v["result_key"] == f"ablation/LastFM/S3-Rec-{name}/seed{seed}"
        assert v["checkpoint"]["path"] == f"official/{result['key']}/{result['config_hash']}/pretrain/pretrained.pt"
        assert v["loss_weights"] == result["config"]["loss_weights"] and v["seed"] == result["seed"] == seed
        removed = [o for o, w in v["loss_weights"].items() if w == 0]
        assert removed == ([] if name == "full" else [name[3:]]), (name, removed)


@needs_data
def test_the_stored_probe_used_the_chapters_tags():
    from s3rec_lite import load_dataset
    from s3rec_lite.book import representations as R

    tags = R.frequent_attributes(load_dataset("LastFM", progress=False), 20).tolist()
    assert sorted(SEEDS) == [1, 2, 3]  # every pre-training seed of the LastFM ablation probed
    for path in SEEDS.values():
        assert json.loads(path.read_text())["attributes"] == tags, path.name


def test_a_missing_checkpoint_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "probe.json"
    res = _run("--runs", tmp_path / "runs", "--out", out)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "checkpoint not found" in lines[0] and str(tmp_path / "runs") in lines[0]
    assert lines[0].split(":")[1].strip().endswith("pretrain/pretrained.pt"), lines[0]
    assert not out.exists()


def test_a_missing_result_json_is_one_line_and_exit_2(tmp_path):
    res = _run("--runs", tmp_path, "--results", tmp_path / "results", "--out", tmp_path / "probe.json")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "result JSON not found" in res.stderr and "S3-Rec-full" in res.stderr


@needs_data
def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    """A checkpoint whose pre-training history is not the one its result JSON reports: exit 2, one line."""
    import torch

    from s3rec_lite import load_dataset, preset
    from s3rec_lite.checkpoint import save_model
    from s3rec_lite.model import S3RecModel

    ds = load_dataset("LastFM", progress=False)
    torch.manual_seed(0)
    model = S3RecModel(preset("official", progress=False).arch, ds.item_vocab_size, ds.attribute_vocab_size)
    results, ckpts = tmp_path / "results", {}
    for variant in sorted(VARIANTS):  # every input must exist before the first one is read
        rel = f"official/ablation/LastFM/S3-Rec-{variant}/seed1.json"
        (results / rel).parent.mkdir(parents=True)
        shutil.copy(REPO / "results" / rel, results / rel)
        result = json.loads((results / rel).read_text())
        ckpt = tmp_path / "runs" / "official" / result["key"] / result["config_hash"] / "pretrain" / "pretrained.pt"
        save_model(model, ckpt, dataset="LastFM", meta={"epochs": 20, "history": [{"epoch": 0, "loss": 1.0}]})
        ckpts[variant] = ckpt
    res = _run("--runs", tmp_path / "runs", "--results", results, "--out", tmp_path / "probe.json")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "another run" in res.stderr and str(ckpts["full"]) in res.stderr  # the first one read
