"""Helpers of chapter 3 (sequential recommendation before S3-Rec) and chapter 22 (after S3-Rec).

Chapter 3 trains GRU4Rec and SASRec for a few epochs and reads the stored paper-scale runs of the baselines;
chapter 22 compares the ranking of the stored models under sampled metrics (99 negatives) and under a full
ranking (Krichene and Rendle, KDD 2020). Everything here is a small pure function over stored run records
(the JSON files of ``results/<preset>/<experiment>/``, read with :func:`s3rec_lite.experiments.load_results`)
or over plain numbers, plus the chapters' figures.

A run record holds ``test`` (sampled metrics), ``test_full_ranking`` (full ranking, the user's history
excluded) and ``history`` (one row per fine-tuning epoch, with ``valid_<metric>``).
"""
from __future__ import annotations

import math
from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..errors import S3RecError

__all__ = [
    "stored_runs", "validation_curve", "seed_values", "seed_summary", "ranking", "kendall_tau", "swapped_pairs",
    "sampled_vs_full", "swap_table", "split_at_largest_gap", "sampled_hit_probability", "plot_validation_curves", "plot_seed_spread",
    "plot_sampled_hit_probability", "plot_rank_slope",
]


# ------------------------------------------------------------------------------------------------
# Reading stored runs
# ------------------------------------------------------------------------------------------------
def stored_runs(dataset: str = "LastFM", models=None, preset: str = "paper", experiment: str = "table2",
                results_root=None) -> dict[str, list[dict]]:
    """The stored runs of ``experiment`` on ``dataset``, grouped by model (sorted by seed): {model: [run, ...]}.

    ``models``: keep only these (each must have at least one stored run); ``None`` keeps every stored model."""
    from ..experiments import DEFAULT_RESULTS, load_results

    runs = load_results(experiment, preset, results_root if results_root is not None else DEFAULT_RESULTS)
    groups: dict[str, list[dict]] = {}
    for r in runs:
        if r.get("dataset") == dataset and r.get("test"):
            groups.setdefault(r["model"], []).append(r)
    if models is not None:
        missing = [m for m in models if m not in groups]
        if missing:
            raise S3RecError(f"no stored {experiment} runs ({preset} preset) of {', '.join(missing)} on {dataset}")
        groups = {m: groups[m] for m in models}
    return {m: sorted(rs, key=lambda r: r.get("seed", 0)) for m, rs in groups.items()}


def validation_curve(history: list[dict], metric: str = "NDCG@10") -> np.ndarray:
    """Validation ``metric`` at each fine-tuning epoch of a run's history.  -> [epochs]"""
    key = f"valid_{metric}"
    if any(key not in row for row in history):
        raise S3RecError(f"validation_curve: a history row has no {key!r}")
    return np.array([row[key] for row in history], dtype=float)


def seed_values(runs: list[dict], metric: str = "NDCG@10", which: str = "test") -> np.ndarray:
    """One value per run: ``run[which][metric]`` (``which`` = "test", "test_full_ranking" or "valid").  -> [seeds]"""
    try:
        return np.array([r[which][metric] for r in runs], dtype=float)
    except KeyError as exc:
        raise S3RecError(f"seed_values: a run has no {which}[{metric!r}] ({exc})") from None


def seed_summary(by_model: dict[str, list[dict]], metrics=("NDCG@10", "HR@10"), which: str = "test") -> pd.DataFrame:
    """One row per model: ``seeds``, then for each metric its mean, sample standard deviation over seeds
    (NaN for one seed), minimum and maximum: columns ``<metric> mean``, ``<metric> sd``, ``<metric> min``,
    ``<metric> max``."""
    rows = []
    for model, runs in by_model.items():
        row = {"model": model, "seeds": len(runs)}
        for metric in metrics:
            v = seed_values(runs, metric, which)
            row.update({f"{metric} mean": v.mean(), f"{metric} sd": v.std(ddof=1) if len(v) > 1 else np.nan,
                        f"{metric} min": v.min(), f"{metric} max": v.max()})
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Rankings of models
# ------------------------------------------------------------------------------------------------
def ranking(scores: dict[str, float]) -> list[str]:
    """Model names, best (highest score) first; equal scores keep their order in ``scores``."""
    return sorted(scores, key=lambda m: -scores[m])


def _check_same_models(a: dict, b: dict) -> None:
    if set(a) != set(b):
        raise S3RecError(f"the two rankings cover different models: {sorted(set(a) ^ set(b))}")
    if len(a) < 2:
        raise S3RecError("a ranking needs at least two models")


def kendall_tau(a: dict[str, float], b: dict[str, float]) -> float:
    """Kendall's tau-b between two scorings of the same models: +1 same order, -1 reversed order.

    tau_b = (C - D) / sqrt((P - T_a) (P - T_b)) over the P = n(n-1)/2 pairs: C concordant, D discordant,
    T_a / T_b pairs tied in ``a`` / ``b`` (without ties, tau = 1 - 2 D / P)."""
    _check_same_models(a, b)
    concordant = discordant = ties_a = ties_b = 0
    for x, y in combinations(list(a), 2):
        da, db = np.sign(a[x] - a[y]), np.sign(b[x] - b[y])
        ties_a += da == 0
        ties_b += db == 0
        if da * db > 0:
            concordant += 1
        elif da * db < 0:
            discordant += 1
    pairs = len(a) * (len(a) - 1) // 2
    denominator = math.sqrt((pairs - ties_a) * (pairs - ties_b))
    if denominator == 0:
        raise S3RecError("kendall_tau: every pair is tied in one of the rankings")
    return (concordant - discordant) / denominator


def swapped_pairs(a: dict[str, float], b: dict[str, float]) -> list[tuple[str, str]]:
    """The discordant pairs: (x, y) with x ahead of y under ``a`` and behind it under ``b``, in ``a``'s order."""
    _check_same_models(a, b)
    order = ranking(a)
    return [(x, y) for i, x in enumerate(order) for y in order[i + 1:] if a[x] > a[y] and b[x] < b[y]]


def sampled_vs_full(by_model: dict[str, list[dict]], metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per model: ``seeds``, the sampled (99 negatives) and the full-ranking ``metric`` (mean and sd
    over seeds, sd NaN for one seed) and the model's place (1 = best) under each; sorted by the sampled place."""
    rows = []
    for model, runs in by_model.items():
        s, f = seed_values(runs, metric, "test"), seed_values(runs, metric, "test_full_ranking")
        sd = (lambda v: v.std(ddof=1) if len(v) > 1 else np.nan)
        rows.append({"model": model, "seeds": len(runs), "sampled": s.mean(), "sampled sd": sd(s),
                     "full": f.mean(), "full sd": sd(f)})
    df = pd.DataFrame(rows)
    for col in ("sampled", "full"):
        order = ranking(dict(zip(df.model, df[col])))
        df[f"{col} place"] = [order.index(m) + 1 for m in df.model]
    return df.sort_values("sampled place").reset_index(drop=True)


def _z(gap: float, sd_a: float, n_a: int, sd_b: float, n_b: int) -> float:
    """A gap between two means in units of its standard error, sqrt(sd_a^2/n_a + sd_b^2/n_b); NaN when a model
    has one seed (no spread), inf when both are deterministic (zero spread) and the gap is not zero."""
    if n_a < 2 or n_b < 2:
        return np.nan
    se = math.sqrt(sd_a ** 2 / n_a + sd_b ** 2 / n_b)
    return abs(gap) / se if se > 0 else (np.inf if gap != 0 else np.nan)


def swap_table(table: pd.DataFrame) -> pd.DataFrame:
    """The pairs that :func:`sampled_vs_full`'s ``table`` orders differently (ahead = ahead under sampled
    metrics), with both gaps (ahead minus behind, so the full gap is negative) and each gap's size in
    standard errors over seeds (``z``; NaN where a model has a single seed)."""
    t = table.set_index("model")
    sampled, full = t["sampled"].to_dict(), t["full"].to_dict()
    rows = []
    for a, b in swapped_pairs(sampled, full):
        ra, rb = t.loc[a], t.loc[b]
        gap_s, gap_f = ra.sampled - rb.sampled, ra.full - rb.full
        rows.append({"ahead (sampled)": a, "ahead (full)": b, "sampled gap": gap_s,
                     "sampled z": _z(gap_s, ra["sampled sd"], ra.seeds, rb["sampled sd"], rb.seeds),
                     "full gap": gap_f, "full z": _z(gap_f, ra["full sd"], ra.seeds, rb["full sd"], rb.seeds)})
    return pd.DataFrame(rows, columns=["ahead (sampled)", "ahead (full)", "sampled gap", "sampled z", "full gap",
                                       "full z"])


def split_at_largest_gap(scores: dict[str, float]) -> tuple[list[str], list[str], float]:
    """Split models into a leading and a trailing group at the largest gap between neighbours in the
    ranking by ``scores``: (leading, trailing, gap), each group best first.  Needs at least two models."""
    if len(scores) < 2:
        raise S3RecError("split_at_largest_gap: needs at least two models")
    order = ranking(scores)
    gaps = [scores[a] - scores[b] for a, b in zip(order, order[1:])]  # [n - 1], all >= 0
    cut = int(np.argmax(gaps)) + 1  # the first largest gap
    return order[:cut], order[cut:], float(gaps[cut - 1])


# ------------------------------------------------------------------------------------------------
# What a sampled metric sees of a full ranking
# ------------------------------------------------------------------------------------------------
def sampled_hit_probability(full_rank: int, n_others: int, n_negatives: int = 99, k: int = 10) -> float:
    """Probability that the true item is a sampled hit@k (fewer than ``k`` of the ``n_negatives`` sampled
    items score above it) when ``full_rank`` of the ``n_others`` candidate items score above it.

    The negatives are drawn uniformly without replacement from the ``n_others`` items, so the number of them
    above the true item is hypergeometric: P(X = j) = C(r, j) C(n - r, m - j) / C(n, m)."""
    r, n, m = int(full_rank), int(n_others), int(n_negatives)
    if not (0 <= r <= n and 0 < m <= n and k >= 1):
        raise S3RecError(f"sampled_hit_probability: need 0 <= full_rank <= n_others, 0 < n_negatives <= n_others "
                         f"and k >= 1 (got {r}, {n}, {m}, {k})")
    total = math.comb(n, m)
    return sum(math.comb(r, j) * math.comb(n - r, m - j) for j in range(0, min(k, m + 1))) / total


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------
def _style():
    from .plots.style import style

    style()


def _color(name: str) -> str:
    from .plots.style import color

    return color(name)


def plot_validation_curves(live: dict[str, np.ndarray], stored: dict[str, np.ndarray] | None = None,
                           metric: str = "NDCG@10", chance: float | None = None):
    """Validation ``metric`` per epoch: the live runs as markers, the stored run of the same seed as a thin
    line over all its epochs (``stored``), the expected value of a random ranking as a dotted line."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for model, curve in live.items():
        c = _color(model)
        if stored and model in stored:
            s = stored[model]
            ax.plot(np.arange(1, len(s) + 1), s, color=c, lw=1, alpha=0.45, label=f"{model}, stored run (all epochs)")
        ax.plot(np.arange(1, len(curve) + 1), curve, "o-", color=c, ms=4, lw=1.5, label=f"{model}, live run")
    if chance is not None:
        ax.axhline(chance, color="0.4", ls=":", lw=1, label="random ranking")
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.set_ylim(bottom=0)
    ax.legend(loc="center right")  # the empty band between the curves and the random level
    return fig


def plot_seed_spread(by_model: dict[str, list[dict]], metric: str = "NDCG@10", which: str = "test",
                     paper: dict[str, float] | None = None):
    """One column per model: each stored seed as a dot, the mean as a bar, the paper's number as a cross."""
    _style()
    models = list(by_model)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    rng = np.random.default_rng(0)  # horizontal jitter only, so that equal values stay visible
    for i, m in enumerate(models):
        v = seed_values(by_model[m], metric, which)
        x = i + rng.uniform(-0.12, 0.12, len(v)) if len(v) > 1 else np.array([float(i)])
        ax.scatter(x, v, s=22, color=_color(m), alpha=0.8, zorder=3, label="one seed (ours)" if i == 0 else None)
        ax.hlines(v.mean(), i - 0.28, i + 0.28, color="black", lw=1.5, zorder=4, label="mean (ours)" if i == 0 else None)
        if paper and paper.get(m) is not None:
            ax.scatter([i + 0.36], [paper[m]], marker="x", s=36, color="0.3", zorder=4,
                       label="paper (Table 2)" if "paper (Table 2)" not in ax.get_legend_handles_labels()[1] else None)
    seeds = [len(by_model[m]) for m in models]
    ax.set_xticks(range(len(models)), [f"{m}\n({n} seed{'s' if n > 1 else ''})" for m, n in zip(models, seeds)],
                  fontsize=9)
    ax.set_xlim(-0.6, len(models) - 0.3)
    ax.set_ylabel(f"test {metric} (99 negatives)")
    ax.legend(loc="upper left")
    return fig


def plot_sampled_hit_probability(n_others: int, n_negatives: int = 99, k: int = 10, ranks=None):
    """P(sampled hit@k) against the true item's full rank (log axis), beside the full-ranking hit@k (a step)."""
    _style()
    ranks = np.unique(np.geomspace(1, n_others, 200).astype(int)) - 1 if ranks is None else np.asarray(ranks)
    p = [sampled_hit_probability(int(r), n_others, n_negatives, k) for r in ranks]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.plot(ranks + 1, p, color=_color("ours"), lw=2, label=f"sampled HR@{k} ({n_negatives} negatives)")
    ax.step(ranks + 1, (ranks < k).astype(float), where="post", color="0.3", ls="--", lw=1.2,
            label=f"full-ranking HR@{k}")
    ax.set_xscale("log")
    ax.set_xlabel(f"full rank of the true item (1 = first of {n_others + 1})")
    ax.set_ylabel("probability of a hit")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)  # below the axes: covers no data
    return fig


def plot_rank_slope(table: pd.DataFrame, metric: str = "NDCG@10"):
    """Slope chart of :func:`sampled_vs_full`'s places: each model's place under sampled metrics (left)
    and under the full ranking (right), labelled with its mean value; crossing lines are swapped pairs."""
    _style()
    n = len(table)
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * n + 1.2))
    for _, row in table.iterrows():
        c = _color(row.model)
        ax.plot([0, 1], [row["sampled place"], row["full place"]], "o-", color=c, lw=2, ms=6)
        ax.text(-0.04, row["sampled place"], f"{row.model} {row.sampled:.4f}", ha="right", va="center", fontsize=9)
        ax.text(1.04, row["full place"], f"{row.full:.4f} {row.model}", ha="left", va="center", fontsize=9)
    ax.set_xlim(-0.9, 1.9)
    ax.set_ylim(n + 0.6, 0.4)
    ax.set_xticks([0, 1], [f"sampled {metric}\n(99 negatives)", f"full-ranking {metric}\n(every item)"])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", length=0)
    return fig
