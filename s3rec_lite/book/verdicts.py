"""The paper's claims of Section 5.3 judged on stored runs: a mean, a standard error that holds both sources of
noise (which pre-training, which fine-tuning seed), and a verdict: holds, does not hold, or cannot be told.

The runs of one setting (an ablation variant, a model at a fraction of the data) are grouped by their
pre-training: a "train" run pre-trains with its seed and fine-tunes once; a crossed run
(``S3-Rec-<tag>-pre<P>/seed<S>``) fine-tunes with seed S from the pre-training of seed P; a model without
pre-training (SASRec, FDSA) has one group per run. A setting's estimate is the mean of its groups' means, and
its standard error is ``sqrt(v / G)`` over its G groups, where ``v`` is the variance of a group mean: pooled over
the settings of the dataset (same design, same model family: ``pool``), or the setting's own. A group mean's
variance holds the pre-training spread and the fine-tuning spread (divided by the fine-tunings per group), so
the standard error holds both. Where no setting of a dataset has two pre-trainings, the pre-training spread
cannot be measured there: the estimate says so (``pretrain_spread = False``) and the verdict is "cannot be
told", unless a relative pre-training spread measured on the other datasets is lent to it (``borrow``): then its
standard error holds the fine-tuning spread measured here plus the borrowed one, with the degrees of freedom of
both.

Verdict rule (a two-sided test at 5%): a claimed difference ``d`` (claimed positive) with standard error ``se``
holds if ``d > t se``, does not hold if ``d < -t se``, and cannot be told otherwise, where ``t`` is Student's t
at 97.5% for the degrees of freedom ``se`` is estimated with (:func:`critical`): 4.30 when a spread comes from 3
runs (2 degrees of freedom), 2.23 from 10, 1.96 from many. A standard error estimated from three runs is itself
noisy, and "two standard errors" would then call a difference far too often. The degrees of freedom of a
difference of two independent estimates are Welch-Satterthwaite's (:func:`satterthwaite`); two estimates that
share one pooled variance keep its degrees of freedom.

Chapter 13's sweep compares many values of one knob at once, and its "best" and "worst" values are picked after
the fact: its verdicts use Tukey's studentized range instead (:func:`sweep_verdicts`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from ..reference import PAPER_DATASETS, in_paper_order

LEVEL = 0.95  # two-sided: the chance of calling a difference that is not there is at most 1 - LEVEL


def critical(dof: float) -> float:
    """How many standard errors a difference must pass for a verdict: Student's t at ``(1 + LEVEL) / 2`` with
    ``dof`` degrees of freedom (infinite: the normal's 1.96); no degrees of freedom: infinite (nothing decided)."""
    from scipy.stats import t

    if not dof > 0:  # 0 or NaN
        return math.inf
    return float(t.ppf((1 + LEVEL) / 2, dof))


def satterthwaite(parts) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of independent variance estimates, ``parts`` =
    ``[(variance, dof), ...]``: ``(sum v)^2 / sum(v^2 / dof)`` (a part with infinite dof adds nothing below the
    line; a part with a variance but no dof gives 0)."""
    parts = [(v, d) for v, d in parts if v > 0]
    if any(not d > 0 for _, d in parts):
        return 0.0
    below = sum(v * v / d for v, d in parts if math.isfinite(d))
    return sum(v for v, _ in parts) ** 2 / below if below > 0 else math.inf


def merge_parts(parts) -> list[tuple[float, float]]:
    """``[(variance, dof, source), ...]`` as :func:`satterthwaite` takes them: the parts of one ``source`` (not
    None) come from one estimate (a pooled variance, a borrowed spread), so they are one part, not independent
    ones: their variances add, their dof is that estimate's (counting it twice would overstate the dof)."""
    out, shared = [], {}
    for v, d, src in parts:
        if src is None:
            out.append((v, d))
        else:
            shared[src] = (shared.get(src, (0.0, d))[0] + v, d)
    return out + list(shared.values())

HOLDS, FAILS, UNCLEAR = "holds", "does not hold", "cannot be told at this noise"


@dataclass(frozen=True)
class Estimate:
    """A setting's mean over its pre-training groups, its standard error, and what that error holds."""

    mean: float
    se: float
    groups: int  # pre-trainings (or runs, for a model without pre-training)
    runs: int
    pretrain_spread: bool = True  # False: the standard error holds the fine-tuning spread only
    borrowed: bool = False  # True: its pre-training spread is borrowed from other datasets (one pre-training here)
    dof: float = math.inf  # the degrees of freedom the standard error is estimated with
    pooled: str | None = None  # the pool (dataset) whose shared variance ``se`` comes from, if any
    parts: tuple = ()  # ``se ** 2`` as ``(variance, dof, source)`` parts (:func:`merge_parts`); () : one part

    def __str__(self) -> str:
        note = " (fine-tuning noise only)" if not self.pretrain_spread else " (pre-training spread borrowed)" \
            if self.borrowed else ""
        return f"{self.mean:.4f} ± {self.se:.4f}{note}"


def pretrain_seed(run: dict) -> int:
    """The seed of the pre-training a stored run's model comes from (its own seed for a "train" run)."""
    src = (run.get("from_pretrain") or {}).get("run")
    return int(src.rsplit("/seed", 1)[1]) if src else int(run["seed"])


def variant_of(run: dict) -> str:
    """The setting a stored ablation or sweep run belongs to: its tag without ``-pre<P>``; a model's name
    when it has no tag (FDSA, the ablation's reference)."""
    tag = run.get("tag") or ""
    return tag.split("-pre")[0] if tag else run["model"]


def seed_frame(runs: list[dict], setting, metric: str = "NDCG@10") -> pd.DataFrame:
    """One row per stored run with a test metric: dataset, setting (``setting(run)``), pretrain (its
    pre-training seed, or the run's seed for a model without one), seed, value."""
    rows = [{"dataset": r["dataset"], "setting": setting(r), "pretrain": pretrain_seed(r), "seed": r["seed"],
             "value": r["test"][metric]} for r in runs if r.get("test")]
    return pd.DataFrame(rows, columns=["dataset", "setting", "pretrain", "seed", "value"])


def _group_means(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(["dataset", "setting", "pretrain"], sort=False).value.agg(["mean", "count"]).reset_index()


def estimates(df: pd.DataFrame, pool: list[str] | None = None, borrow: float | None = None,
              borrow_dof: float = math.inf) -> dict:
    """``{(dataset, setting): Estimate}``. ``pool``: the settings whose group-mean variance is pooled per dataset
    (the ablation's variants: the same model, so the same spread); the others use their own. ``borrow``: a
    relative pre-training standard deviation (of a group mean, as a share of the mean) to use where a pooled
    setting has no replicated pre-training on its dataset, estimated with ``borrow_dof`` degrees of freedom."""
    g = _group_means(df)
    out = {}
    for d, gd in g.groupby("dataset", sort=False):
        pooled = gd[gd.setting.isin(pool or [])]
        dof_pool = sum(len(x) - 1 for _, x in pooled.groupby("setting"))
        ss = sum(((x["mean"] - x["mean"].mean()) ** 2).sum() for _, x in pooled.groupby("setting"))
        v_pool = ss / dof_pool if dof_pool > 0 else None
        for s, x in gd.groupby("setting", sort=False):
            G, runs = len(x), int(x["count"].sum())
            mean, borrowed = float(x["mean"].mean()), False
            pooled_in = None
            if pool and s in pool and v_pool is not None:
                se, spread, dof, pooled_in = math.sqrt(v_pool / G), True, float(dof_pool), d
                parts = ((v_pool / G, dof, ("pool", d)),)
            elif G >= 2 and not (pool and s in pool):
                se, spread, dof = float(x["mean"].std(ddof=1)) / math.sqrt(G), True, float(G - 1)
                parts = ((se ** 2, dof, None),)
            else:  # one pre-training: only the fine-tuning spread within it can be measured
                within = df[(df.dataset == d) & (df.setting == s)].value
                se = float(within.std(ddof=1)) / math.sqrt(len(within)) if len(within) >= 2 else math.nan
                spread, dof = False, float(len(within) - 1)
                parts = ((se ** 2, dof, None),) if se == se else ()
                if borrow is not None:  # one borrowed estimate for every setting: one source
                    parts += (((borrow * mean) ** 2 / G, borrow_dof, "borrowed"),)
                    se, dof = math.sqrt(sum(p[0] for p in parts)), satterthwaite(merge_parts(parts))
                    spread = borrowed = True
            out[(d, s)] = Estimate(mean, se, G, runs, spread, borrowed, dof, pooled_in, parts)
    return out


def relative_pretrain_spread(df: pd.DataFrame, pool: list[str], with_dof: bool = False):
    """The standard deviation of a pre-training group's mean as a share of the setting's mean, pooled over the
    datasets and settings (of ``pool``) that have at least two pre-trainings: what ``estimates(borrow=...)``
    lends to a dataset without (None where nothing has two). ``with_dof``: ``(spread, degrees of freedom)``."""
    g = _group_means(df)
    g = g[g.setting.isin(pool)]
    ss, dof = 0.0, 0
    for _, x in g.groupby(["dataset", "setting"]):
        if len(x) >= 2:
            rel = x["mean"] / x["mean"].mean()
            ss += float(((rel - 1.0) ** 2).sum())
            dof += len(x) - 1
    spread = math.sqrt(ss / dof) if dof else None
    return (spread, float(dof)) if with_dof else spread


def verdict(diff: float, se: float, pretrain_spread: bool = True, dof: float = math.inf) -> str:
    """Holds (``diff`` > t se), does not hold (< -t se), or cannot be told; ``t = critical(dof)``. Without a
    measured pre-training spread nothing is decided."""
    if not pretrain_spread or se != se:
        return UNCLEAR
    t = critical(dof)
    return HOLDS if diff > t * se else FAILS if diff < -t * se else UNCLEAR


class Difference(NamedTuple):
    """A difference of two estimates, as :func:`verdict` takes it (``verdict(*difference(a, b))``)."""

    diff: float
    se: float
    pretrain_spread: bool  # both errors hold the pre-training spread
    dof: float


def difference(a: Estimate, b: Estimate) -> Difference:
    """``a - b``, its standard error (independent runs), whether both errors hold the pre-training spread, and its
    degrees of freedom: Welch-Satterthwaite's over both errors' parts, a part both share (a pooled variance, a
    borrowed spread) counted once (:func:`merge_parts`); the shared pool's where both come from one pool."""
    if a.parts and b.parts:
        dof = satterthwaite(merge_parts(a.parts + b.parts))
    elif a.pooled is not None and a.pooled == b.pooled:
        dof = a.dof
    else:
        dof = satterthwaite([(a.se ** 2, a.dof), (b.se ** 2, b.dof)])
    return Difference(a.mean - b.mean, math.sqrt(a.se ** 2 + b.se ** 2), a.pretrain_spread and b.pretrain_spread, dof)


# ------------------------------------------------------------------------------------------------
# The claims
# ------------------------------------------------------------------------------------------------
OBJECTIVES = ("aap", "mip", "map", "sp")
VARIANTS = ("full",) + tuple(f"no-{o}" for o in OBJECTIVES)


def _row(dataset, claim, diff, se, spread, dof, detail="") -> dict:
    return {"dataset": dataset, "claim": claim, "difference": diff, "se": se, "dof": dof,
            "verdict": verdict(diff, se, spread, dof), "detail": detail}


COLUMNS = ["dataset", "claim", "difference", "se", "dof", "verdict", "detail"]


def ablation_verdicts(runs: list[dict], metric: str = "NDCG@10") -> pd.DataFrame:
    """Fig. 2's claims per dataset: removing each objective lowers the metric; AAP and MAP matter more than MIP
    and SP; every variant beats FDSA (where FDSA runs are stored). One row per claim, with the difference the
    claim says is positive, its standard error and the verdict."""
    df = seed_frame(runs, variant_of, metric)
    borrow, borrow_dof = relative_pretrain_spread(df, list(VARIANTS), with_dof=True)
    est = estimates(df, pool=list(VARIANTS), borrow=borrow, borrow_dof=borrow_dof)
    rows = []
    for d in in_paper_order(df.dataset):
        full = est.get((d, "full"))
        if full is None:
            continue
        drops = {}
        for o in OBJECTIVES:
            v = est.get((d, f"no-{o}"))
            if v is not None:
                drops[o] = difference(full, v)
                rows.append(_row(d, f"removing {o.upper()} lowers {metric}", *drops[o], f"{full} vs {v}"))
        if len(drops) == 4:  # the four removals together: all must hold
            verdicts = [verdict(*drops[o]) for o in OBJECTIVES]
            overall = HOLDS if all(v == HOLDS for v in verdicts) else FAILS if FAILS in verdicts else UNCLEAR
            worst = min(OBJECTIVES, key=lambda o: drops[o].diff / drops[o].se if drops[o].se else 0)
            rows.append({"dataset": d, "claim": "removing any objective lowers " + metric, "difference": drops[worst].diff,
                         "se": drops[worst].se, "dof": drops[worst].dof, "verdict": overall,
                         "detail": f"weakest: {worst.upper()}"})
            # AAP and MAP matter more: each of their drops exceeds each of MIP's and SP's. The drop of a minus the
            # drop of b is (no-b) - (no-a): the full model cancels. Holds if all four pairs hold, fails if any fails.
            pairs = {(a, b): difference(est[(d, f"no-{b}")], est[(d, f"no-{a}")]) for a in ("aap", "map") for b in ("mip", "sp")}
            ruled = {k: verdict(*x) for k, x in pairs.items()}
            overall = HOLDS if all(r == HOLDS for r in ruled.values()) else FAILS if FAILS in ruled.values() else UNCLEAR
            (a, b), weakest = min(pairs.items(), key=lambda kv: kv[1].diff / kv[1].se if kv[1].se else 0)
            rows.append({"dataset": d, "claim": "AAP and MAP matter more than MIP and SP", "difference": weakest.diff,
                         "se": weakest.se, "dof": weakest.dof, "verdict": overall,
                         "detail": f"weakest pair: {a.upper()}'s drop minus {b.upper()}'s"})
        fdsa = est.get((d, "FDSA"))
        if fdsa is not None:
            present = [v for v in VARIANTS if (d, v) in est]
            worst = min(present, key=lambda v: est[(d, v)].mean)
            rows.append(_row(d, "every variant beats FDSA", *difference(est[(d, worst)], fdsa), f"weakest variant {worst}: "
                             f"{est[(d, worst)]} vs FDSA {fdsa}"))
    return pd.DataFrame(rows, columns=COLUMNS)


def sparsity_verdicts(runs: list[dict], metric: str = "NDCG@10", model: str = "S3-Rec") -> pd.DataFrame:
    """Fig. 4's claim per dataset and fraction: ``model`` beats the best baseline stored at that fraction; and
    "especially at 20%": its relative gain at 20% exceeds that at every other fraction."""
    df = seed_frame(runs, lambda r: (r["model"], float(r["config"]["train_fraction"])), metric)
    est = estimates(df)
    rows, gains = [], {}
    for d in in_paper_order(df.dataset):
        fracs = sorted({s[1] for (dd, s) in est if dd == d})
        for f in fracs:
            mine = est.get((d, (model, f)))
            others = [(s[0], e) for (dd, s), e in est.items() if dd == d and s[1] == f and s[0] != model]
            if mine is None or not others:
                continue
            name, best = max(others, key=lambda x: x[1].mean)
            diff = difference(mine, best)
            rows.append(_row(d, f"{model} beats the baselines at {f:.0%}", *diff, f"{mine} vs {name} {best}"))
            rel = mine.mean / best.mean - 1
            parts = [((mine.se / best.mean) ** 2, mine.dof), ((mine.mean * best.se / best.mean ** 2) ** 2, best.dof)]
            gains[(d, f)] = (rel, math.sqrt(sum(v for v, _ in parts)), diff.pretrain_spread, parts)
        if (d, 0.2) in gains and len([k for k in gains if k[0] == d]) > 1:
            rel20, se20, sp20, parts20 = gains[(d, 0.2)]
            others = {f: g for (dd, f), g in gains.items() if dd == d and f != 0.2}
            f2, (rel2, se2, sp2, parts2) = max(others.items(), key=lambda x: x[1][0])  # the strongest rival
            rows.append(_row(d, f"{model}'s lead is largest at 20%", rel20 - rel2, math.hypot(se20, se2), sp20 and sp2,
                             satterthwaite(parts20 + parts2),
                             f"relative gain {rel20:+.1%} at 20%, {rel2:+.1%} at {f2:.0%} (the largest elsewhere)"))
    return pd.DataFrame(rows, columns=COLUMNS)


def pretrain_epochs_verdict(runs: list[dict], spread: float | None, metric: str = "NDCG@10",
                            early: int = 20, last: int | None = None, spread_dof: float = math.inf) -> pd.DataFrame:
    """Fig. 5's claim per dataset: most of the gain of pre-training comes in the first ``early`` epochs, i.e.
    gain(early) > gain(last) / 2, gains measured against 0 epochs (no pre-training). All fine-tunings start from
    one pre-training run, so its spread is not in the runs: ``spread`` (the relative pre-training spread of
    :func:`relative_pretrain_spread`, from the ablation, estimated with ``spread_dof`` degrees of freedom) is added
    to the checkpoints' standard errors."""
    df = seed_frame(runs, lambda r: int(r["from_pretrain"]["epoch"]) if r.get("from_pretrain") else None, metric)
    df = df[df.setting.notna()]
    df["pretrain"] = df["seed"]  # each fine-tuning seed is its own sample of the fine-tuning noise
    rows = []
    for d in in_paper_order(df.dataset):
        est = {s: e for (dd, s), e in estimates(df[df.dataset == d]).items()}
        top = last if last is not None else max(est)
        if 0 not in est or early not in est or top not in est or top <= early:
            continue
        e0, ee, el = est[0], est[early], est[top]
        def parts(e: Estimate, scale: float) -> list:  # its variance parts (variance, dof, source), ``scale`` its weight
            lent = [((scale * spread * e.mean) ** 2, spread_dof, "borrowed")] if spread else []  # one pre-training
            return [((scale * e.se) ** 2, e.dof, None)] + lent

        diff = ee.mean - e0.mean - (el.mean - e0.mean) / 2
        var = parts(ee, 1.0) + parts(el, 0.5) + [((e0.se / 2) ** 2, e0.dof, None)]
        rows.append(_row(d, f"most of the gain comes in the first {early} pre-training epochs", diff,
                         math.sqrt(sum(v for v, _, _ in var)), spread is not None, satterthwaite(merge_parts(var)),
                         f"gain {ee.mean - e0.mean:+.4f} after {early}, {el.mean - e0.mean:+.4f} after {top}"))
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_table(frame: pd.DataFrame, order=PAPER_DATASETS) -> pd.DataFrame:
    """For a reader: the paper's datasets first, LastFM last; the difference and its standard error rounded, and
    how many standard errors a verdict needed (Student's t for the degrees of freedom of the error)."""
    if frame.empty:
        return frame
    rank = {d: i for i, d in enumerate(order)}
    out = frame.assign(_r=frame.dataset.map(lambda d: rank.get(d, len(rank)))).sort_values("_r", kind="stable")
    out = out.drop(columns="_r").reset_index(drop=True)
    out["difference ± se"] = [f"{d:+.4f} ± {s:.4f}" for d, s in zip(out.difference, out.se)]
    out["needs"] = [f"{critical(f):.2f} se ({f:.0f} dof)" if math.isfinite(f) else f"{critical(f):.2f} se"
                    for f in out.dof]
    return out[["dataset", "claim", "difference ± se", "needs", "verdict", "detail"]]


__all__ = ["Estimate", "estimates", "seed_frame", "pretrain_seed", "variant_of", "relative_pretrain_spread", "verdict",
           "difference", "critical", "satterthwaite", "merge_parts", "ablation_verdicts", "sparsity_verdicts", "pretrain_epochs_verdict", "verdict_table",
           "sweep_rows", "sweep_values", "sweep_verdicts", "scope_markdown", "HOLDS", "FAILS", "UNCLEAR"]


# ------------------------------------------------------------------------------------------------
# What a results chapter rests on
# ------------------------------------------------------------------------------------------------
def _count(values) -> str:
    """``3`` when every value is 3, else ``3-6`` (the smallest and the largest)."""
    lo, hi = min(values), max(values)
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


def scope_frame(runs: list[dict]) -> pd.DataFrame:
    """One row per dataset of the stored ``runs``: the models or variants, the runs, the pre-trainings and the
    fine-tuning seeds per pre-training of S3-Rec, its pre-training epochs, the evaluation negatives and the
    devices: the scope box of a results chapter. Runs fine-tuned from the checkpoints of one pre-training run
    (Fig. 5) are counted per checkpoint: ``checkpoints`` lists their epochs (0: no pre-training)."""
    rows = []
    for d in in_paper_order(r["dataset"] for r in runs):
        rs = [r for r in runs if r["dataset"] == d and r.get("test")]
        s3 = [r for r in rs if r["model"] == "S3-Rec"]
        at_epoch = [r for r in s3 if isinstance((r.get("from_pretrain") or {}).get("epoch"), int)]
        per_setting: dict = {}  # setting -> {pre-training seed: fine-tunings}
        for r in s3:
            seeds = per_setting.setdefault(variant_of(r), {})
            seeds[pretrain_seed(r)] = seeds.get(pretrain_seed(r), 0) + 1
        epochs = sorted({r["config"]["pretrain_epochs"] for r in s3})
        devices = sorted({"CPU" if r["provenance"]["device"].startswith("CPU") else r["provenance"]["device"] for r in rs})
        rows.append({
            "dataset": d, "runs": len(rs), "models": ", ".join(sorted({r["model"] for r in rs})),
            "S3-Rec pre-trainings per setting": _count([len(x) for x in per_setting.values()]) if s3 else "-",
            "fine-tunings per pre-training": _count([n for x in per_setting.values() for n in x.values()]) if s3 else "-",
            "pre-training epochs": ", ".join(map(str, epochs)) or "-",
            "checkpoints": ", ".join(map(str, sorted({r["from_pretrain"]["epoch"] for r in at_epoch}))) or "-",
            "pre-training runs": len({r["from_pretrain"]["run"] for r in at_epoch if r["from_pretrain"]["epoch"]}),
            "negatives": "; ".join(sorted({("released" if str(r.get("negatives", "")).startswith("released") else
                                            "generated") for r in rs})),
            "device": ", ".join(devices),
            "released pre-training": "; ".join(sorted({_released(r) for r in rs if r.get("released_checkpoint")})) or "-"})
    return pd.DataFrame(rows)


def _released(run: dict) -> str:
    """What pre-trained an ``S3-Rec-released`` run: the released checkpoint's own schedule (stored with runs
    since 2026-12-07; older runs: read from the file's name), not the preset's pre-training fields."""
    from ..zoo import released_schedule

    info = run["released_checkpoint"]
    s = info.get("schedule") or released_schedule(info["file"])
    return f"{s['pretrain_epochs']} epochs, batch {s['pretrain_batch_size']}"


def scope_markdown(runs: list[dict], what: str) -> str:
    """The scope box (a MyST admonition) of a results chapter, from its stored runs."""
    if not runs:
        return f"```{{admonition}} Scope\nNo {what} run is stored yet.\n```"
    lines = []
    for _, r in scope_frame(runs).iterrows():
        pre = "" if r["S3-Rec pre-trainings per setting"] == "-" else (
            f", S3-Rec: {r['S3-Rec pre-trainings per setting']} pre-training(s) per setting x "
            f"{r['fine-tunings per pre-training']} fine-tuning seed(s), {r['pre-training epochs']} pre-training epochs"
            if r["checkpoints"] == "-" else
            f", S3-Rec: {r['pre-training runs']} pre-training run(s) of {r['pre-training epochs']} epochs, fine-tuned "
            f"from the checkpoints at "
            f"epochs {r['checkpoints']} (0: no pre-training) with {r['fine-tunings per pre-training']} seeds each")
        released = ("" if r["released pre-training"] == "-" else
                    f", S3-Rec-released: the authors' checkpoint (their pre-training: {r['released pre-training']})")
        lines.append(f"- **{r.dataset}**: {r.runs} run{'s' if r.runs != 1 else ''} ({r.models}){pre}{released}; "
                     f"evaluation negatives {r.negatives}; {r.device}.")
    return ("```{admonition} Scope of this chapter's runs\n" + "\n".join(lines) +
            "\n\nNegatives: *released* are the authors' `NAME_sample.txt`; *generated* are 99 items per user drawn "
            "uniformly from the items the user never touched (seed 12345), because the authors' files for that "
            "dataset are not available offline. Numbers on generated negatives are comparable with each other, "
            "and only roughly with the paper's.\n```")


# ------------------------------------------------------------------------------------------------
# Chapter 13's sweep: is a knob's curve flat, and is the paper's value as good as the best?
# ------------------------------------------------------------------------------------------------
def sweep_rows(runs: list[dict], paper: dict, metric: str = "NDCG@10", point=None) -> pd.DataFrame:
    """The stored runs of a 1-D sweep, one row per (run, knob whose sweep it belongs to): a run at the paper's
    point belongs to every knob of ``paper`` (a row each, at ``paper[knob]``, ``paper`` True); a run without a
    test ``metric`` is skipped. ``point(tag) -> (knob, value)``: default ``experiments.sweep_point``. Columns:
    ``knob``, ``value`` (float), ``paper``, ``tag``, ``seed``, ``valid`` and ``test`` (``metric``; ``valid`` NaN
    where the run has none), ``key``. Shared by :func:`sweep_verdicts` and the book's sweep widget."""
    if point is None:
        from ..experiments import sweep_point as point
    rows = []
    for r in runs:
        if not r.get("test"):
            continue
        knob, value = point(r.get("tag") or "")
        for k in (paper if knob == "paper" else [knob]):
            rows.append({"knob": k, "value": float(paper[k] if knob == "paper" else value), "paper": knob == "paper",
                         "tag": r.get("tag"), "seed": int(r.get("seed", 0)),
                         "valid": float((r.get("valid") or {}).get(metric, math.nan)),
                         "test": float(r["test"][metric]), "key": r.get("key")})
    return pd.DataFrame(rows, columns=["knob", "value", "paper", "tag", "seed", "valid", "test", "key"])


def sweep_values(rows: pd.DataFrame, knob: str, value: float, column: str = "test") -> list[float]:
    """The stored ``column`` values of ``knob = value`` in :func:`sweep_rows`'s frame, sorted by seed."""
    part = rows[(rows.knob == knob) & ((rows.value.astype(float) - float(value)).abs() < 1e-9)]
    return part.sort_values("seed")[column].astype(float).tolist()


def sweep_verdicts(runs: list[dict], plan: dict, paper: dict, seeds: int = 3, metric: str = "NDCG@10",
                   point=None, pretrain_spread: float | None = None, spread_dof: float = math.inf) -> pd.DataFrame:
    """The conclusions of the ``sweep`` experiment, one row per knob whose sweep is **complete**: every value of
    ``plan[knob]`` (and ``paper[knob]``) has at least ``seeds`` stored runs with a test ``metric``; a knob with a
    value missing or short of seeds gets no row (its conclusions wait for the campaign).

    ``runs``: stored run dicts (``tag``, ``seed``, ``test``); ``point(tag) -> (knob, value)`` maps a tag to its
    point (default ``experiments.sweep_point``; ``("paper", None)`` is the paper's point, a value of every knob,
    at ``paper[knob]``). ``plan``: ``{knob: values}``; ``paper``: ``{knob: value}``.

    Per knob: the mean of each value over its runs, a pooled standard deviation ``sd`` over all its values (the
    same design at every value, ``dof`` degrees of freedom), and the standard error of a difference of two means
    ``se = sd sqrt(1/n_a + 1/n_b)``. Every point has one pre-training and ``seeds`` fine-tunings from it, so
    that ``se`` holds the fine-tuning spread only; two points also differ by their two pre-trainings. With
    ``pretrain_spread`` (a relative standard deviation of a pre-training's mean, :func:`relative_pretrain_spread`,
    measured with ``spread_dof`` degrees of freedom) each point's mean adds ``(pretrain_spread * mean)^2`` to the
    variance of a difference, and the degrees of freedom are Welch-Satterthwaite's of the two parts.

    The best and the worst of k values are picked after the fact: even with no effect at all, the largest of k
    means minus the smallest is on average 2.85 standard errors of one mean for k = 8, about two of a difference,
    so "two standard errors" would call a flat knob "not flat" about half the time. The threshold is Tukey's (Tukey-Kramer's for
    unequal seeds): ``critical = q(LEVEL; k, dof) / sqrt(2)`` standard errors of a difference, with ``q`` the
    studentized range, so that the chance of calling *any* pair of values different when none is stays below
    ``1 - LEVEL``. The same threshold serves both questions.

    Columns: ``knob``, ``best`` / ``best_mean``, ``worst`` / ``worst_mean``, ``paper_mean``, ``range`` (best −
    worst), ``se_range``, ``critical`` and ``dof`` (of the range), ``flat`` (``range <= critical se_range``: the
    sweep cannot tell its values apart), ``gap`` (best − paper), ``se_gap``, ``critical_gap``, ``paper_near_best``
    (``gap <= critical_gap se_gap``), ``runs``, ``pretrain_spread`` (whether the errors hold it). ``seeds`` below 2
    (no spread to pool): ValueError."""
    if seeds < 2:
        raise ValueError(f"seeds must be at least 2 to measure a spread, got {seeds}")
    rows = sweep_rows(runs, {k: paper[k] for k in plan}, metric, point)
    from scipy.stats import studentized_range

    columns = ["knob", "best", "best_mean", "worst", "worst_mean", "paper_mean", "range", "se_range", "critical", "dof",
               "flat", "gap", "se_gap", "critical_gap", "paper_near_best", "runs", "pretrain_spread"]
    out = []
    for knob, values in plan.items():
        wanted = sorted({float(v) for v in values} | {float(paper[knob])})
        groups = {v: sweep_values(rows, knob, v) for v in wanted}
        if any(len(ys) < seeds for ys in groups.values()):
            continue
        mean = {v: sum(ys) / len(ys) for v, ys in groups.items()}
        dof = sum(len(ys) - 1 for ys in groups.values())
        sd = math.sqrt(sum(sum((y - mean[v]) ** 2 for y in ys) for v, ys in groups.items()) / dof)

        def parts(a, b):  # the variance of mean[a] - mean[b]: fine-tuning seeds, then the two pre-trainings
            out = [(sd ** 2 * (1 / len(groups[a]) + 1 / len(groups[b])), dof)]
            if pretrain_spread:
                out.append(((pretrain_spread * mean[a]) ** 2 + (pretrain_spread * mean[b]) ** 2, spread_dof))
            return out

        def se(a, b):
            return math.sqrt(sum(v for v, _ in parts(a, b)))

        def crit(a, b):  # Tukey's studentized range for k values, at the pair's degrees of freedom
            return float(studentized_range.ppf(LEVEL, len(groups), satterthwaite(parts(a, b)))) / math.sqrt(2)

        best, worst, p = max(mean, key=mean.get), min(mean, key=mean.get), float(paper[knob])
        rng, gap = mean[best] - mean[worst], mean[best] - mean[p]
        c_range, c_gap = crit(best, worst), crit(best, p)
        out.append({"knob": knob, "best": best, "best_mean": mean[best], "worst": worst, "worst_mean": mean[worst],
                    "paper_mean": mean[p], "range": rng, "se_range": se(best, worst), "critical": c_range,
                    "dof": satterthwaite(parts(best, worst)), "flat": bool(rng <= c_range * se(best, worst)),
                    "gap": gap, "se_gap": se(best, p), "critical_gap": c_gap,
                    "paper_near_best": bool(gap <= c_gap * se(best, p)), "runs": sum(len(ys) for ys in groups.values()),
                    "pretrain_spread": bool(pretrain_spread)})
    return pd.DataFrame(out, columns=columns)
