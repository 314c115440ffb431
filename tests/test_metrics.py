import math

import numpy as np
import pytest
import torch

from s3rec_lite.metrics import metrics_from_ranks, rank_of_first, rank_of_target


def test_rank_of_first_counts_ties_against_the_model():
    scores = torch.tensor([[0.5, 0.1, 0.2],  # best -> rank 0
                           [0.5, 0.9, 0.5],  # one above, one tie -> rank 2
                           [1.0, 1.0, 1.0]])  # all equal: worst rank, never flattering
    assert rank_of_first(scores).tolist() == [0, 2, 2]


def test_rank_of_target_excludes_itself_and_counts_ties():
    scores = torch.tensor([[0.1, 0.7, 0.7, 0.3], [0.4, 0.3, 0.2, 0.1]])
    assert rank_of_target(scores, torch.tensor([1, 0])).tolist() == [1, 0]


def test_metrics_known_values():
    m = metrics_from_ranks([0, 1, 4, 9, 50])
    assert m["HR@1"] == pytest.approx(1 / 5)
    assert m["HR@5"] == pytest.approx(3 / 5)
    assert m["HR@10"] == pytest.approx(4 / 5)
    ndcg5 = (1 + 1 / math.log2(3) + 1 / math.log2(6)) / 5
    assert m["NDCG@5"] == pytest.approx(ndcg5)
    assert m["NDCG@10"] == pytest.approx(ndcg5 + 1 / math.log2(11) / 5)
    assert m["MRR"] == pytest.approx(np.mean([1, 1 / 2, 1 / 5, 1 / 10, 1 / 51]))


def test_degenerate_model_gets_the_worst_metrics():
    scores = torch.zeros(7, 100)  # a model that scores everything the same
    m = metrics_from_ranks(rank_of_first(scores))
    assert m["HR@10"] == 0.0 and m["MRR"] == pytest.approx(1 / 100)
