"""Interactive widgets of the book, built in the package so that they are tested without a browser.

``SweepExplorer`` (chapter 13): the stored runs of the ``sweep`` experiment (LastFM; the mask ratio and each loss
weight moved alone from the paper's point) on sliders. Every planned point is a pre-rendered state (figure,
readout, alt text) of a :class:`SweepSwitcher`, which works on a static page; a point not stored yet says so.
In a live kernel (Jupyter, Colab) ``SweepExplorer.live()`` adds **Run this point**: a short live run
(:func:`run_sweep_point`) drawn beside the stored runs.

``FigureSwitcher`` (chapter 7's ``infonce_switcher``: the number of negatives in the InfoNCE estimate) and
``SweepSwitcher`` (chapter 16's ``weight_switcher``, chapter 13's sweep) work without a kernel: every state is
rendered in advance and sliders switch between the pictures.

``run_tiny_experiment`` (chapter 13's walkthrough): a tiny pre-training + fine-tuning on synthetic data, in
seconds on a CPU.
"""
from __future__ import annotations

import functools
import time

import ipywidgets as W
import numpy as np

from ..config import PAPER_WEIGHTS, preset
from ..data import make_synthetic
from ..reference import PAPER_DATASETS
from .infonce_demo import single_thread

__all__ = ["TINY_DATA", "tiny_config", "run_tiny_experiment", "single_thread", "FigureSwitcher",
           "INFONCE_NEGATIVES", "infonce_switcher", "SweepSwitcher", "SWEEP_LABELS", "SWEEP_SEEDS", "SWEEP_QUEUED",
           "LIVE_RUN", "sweep_defaults", "sweep_plan", "sweep_frame", "sweep_table", "sweep_point_runs",
           "sweep_readout", "sweep_alt", "plot_sweep_state", "live_kernel", "stored_settings", "live_run_label",
           "run_sweep_point", "plot_live_run", "kernel_note", "SweepExplorer", "SweepLivePanel", "ABLATION_LABELS",
           "plot_weight_state", "weight_switcher"]

#: The tiny synthetic dataset the widget trains on (planted clusters; see ``data.make_synthetic``).
TINY_DATA = dict(num_users=150, num_items=150, min_len=8, max_len=20, seed=0)


def tiny_config(mask_ratio: float = 0.2, weights: dict | None = None, seed: int = 0, **overrides):
    """The configuration of the widget's runs: the paper's model and objectives, shrunk to run in seconds on
    a CPU: d = 32, windows of 10 items, dropout 0.2, 5 pre-training epochs at learning rate 1e-4 (at this
    scale 1e-3 drives the embeddings into a state fine-tuning does not recover from; chapter 13's
    exercises), at most 30 fine-tuning epochs with patience 5."""
    kw = dict(max_len=10, hidden_size=32, hidden_dropout=0.2, attention_dropout=0.2, pretrain_epochs=5,
              pretrain_lr=1e-4, finetune_epochs=30, patience=5, pretrain_batch_size=128, finetune_batch_size=64,
              max_users=None,
              progress=False, device="cpu", seed=seed, mask_ratio=mask_ratio,
              loss_weights={**PAPER_WEIGHTS, **(weights or {})})
    kw.update(overrides)
    return preset("tiny", **kw)


@functools.lru_cache(maxsize=4)
def _tiny_dataset(items: tuple):
    return make_synthetic(**dict(items))


def _finetune_from(cfg, ds, pretrain_first: bool):
    from ..train import build_model, finetune, pretrain, seed_everything

    with single_thread():
        seed_everything(cfg.seed)
        model = build_model(cfg, ds)
        history = pretrain(model, ds, cfg) if pretrain_first else []
        return history, finetune(model, ds, cfg)


@functools.lru_cache(maxsize=8)
def _baseline(cfg_json: str, data_items: tuple) -> dict:
    from ..config import Config
    import json

    cfg = Config.from_dict(json.loads(cfg_json))
    return _finetune_from(cfg, _tiny_dataset(data_items), pretrain_first=False)[1]


def run_tiny_experiment(mask_ratio: float = 0.2, weights: dict | None = None, seed: int = 0, baseline: bool = True,
                        data: dict | None = None, **overrides) -> dict:
    """Pre-train (``weights`` over AAP, MIP, MAP, SP; ``mask_ratio`` for MIP/MAP) then fine-tune on the tiny
    synthetic dataset; optionally also fine-tune the same model without pre-training (cached: it does not
    depend on the sliders). Returns ``{"mask_ratio", "weights", "pretrain_history", "finetune", "baseline",
    "config", "seconds"}``; ``finetune`` and ``baseline`` are :func:`s3rec_lite.train.finetune` results."""
    import json

    t0 = time.perf_counter()
    cfg = tiny_config(mask_ratio, weights, seed, **overrides)
    data_items = tuple(sorted({**TINY_DATA, **(data or {})}.items()))
    ds = _tiny_dataset(data_items)
    any_weight = any(w > 0 for w in cfg.loss_weights.values())
    history, result = _finetune_from(cfg, ds, pretrain_first=any_weight)
    base = None
    if baseline:
        base_cfg = cfg.replace(loss_weights={k: 0.0 for k in cfg.loss_weights}, mask_ratio=0.2)
        base = _baseline(json.dumps(base_cfg.to_dict(), sort_keys=True), data_items)
    return {"mask_ratio": float(mask_ratio), "weights": dict(cfg.loss_weights), "pretrain_history": history,
            "finetune": result, "baseline": base, "config": cfg.to_dict(), "dataset": ds.name,
            "seconds": time.perf_counter() - t0}


def _show(output: W.Output, fig) -> None:
    """Draw ``fig`` into ``output`` (replacing what was there) and release it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    output.clear_output(wait=True)
    with output:
        display(fig)
    plt.close(fig)


class FigureSwitcher:
    """A slider that switches between figures rendered in advance: it works on a static page (no kernel).

    Every state is drawn now, stored as a PNG inside the HTML, and a range input shows one of them at a time
    (a few lines of inline JavaScript, no widget library). The same HTML works in a live notebook. The root
    element has ``id=element_id``, ``data-s3rec-switcher`` and ``data-current`` (the state shown); each image
    has ``data-state``; the control is ``input[type=range]``: a browser test sets its value, dispatches an
    ``input`` event and checks that ``data-current`` and the visible image changed.
    """

    def __init__(self, figures: dict, element_id: str, label: str, value=None, alt: dict | None = None,
                 colors: int | None = None):
        import base64
        import io

        import matplotlib.pyplot as plt

        if not figures:
            raise ValueError("FigureSwitcher needs at least one figure")
        self.states = [str(k) for k in figures]
        self.value = str(value if value is not None else self.states[0])
        if self.value not in self.states:
            raise ValueError(f"value {value!r} is not one of the states {self.states}")
        self.element_id, self.label = element_id, label
        self.alt = {str(k): v for k, v in (alt or {}).items()}
        self.png = {}
        for key, fig in figures.items():
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
            plt.close(fig)
            self.png[str(key)] = base64.b64encode(self._palette(buf.getvalue(), colors)).decode("ascii")

    @staticmethod
    def _palette(png: bytes, colors: int | None) -> bytes:
        """``png`` as is (``colors`` None), or reduced to a palette of ``colors`` colours: a page with many states
        stays small (a three-panel state: about 75 kB in full colour, 25 kB with 128 colours)."""
        if not colors:
            return png
        import io

        from PIL import Image

        out = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colors).save(out, format="PNG", optimize=True)
        return out.getvalue()

    #: The readout (``<output>``) has a fixed width, so the slider's track stays put when the value's text grows
    #: ("1" to "1023"): the row sits in a centred figure, where a wider readout would shift everything before it.
    READOUT_STYLE = "font-weight:bold;display:inline-block;width:4em;text-align:left"

    _JS = ("var r=this.closest('[data-s3rec-switcher]'),i=+this.value,m=r.querySelectorAll('img[data-state]');"
           "m.forEach(function(e,j){e.style.display=(j===i)?'':'none';});"
           "r.dataset.current=m[i].dataset.state;r.querySelector('output').textContent=m[i].dataset.state;")

    def _repr_html_(self) -> str:
        import html

        q = lambda text: html.escape(str(text), quote=True)  # noqa: E731
        i = self.states.index(self.value)
        images = "".join(
            f'<img data-state="{q(k)}" alt="{q(self.alt.get(k, f"{self.label} = {k}"))}" '
            f'style="max-width:100%;{"" if k == self.value else "display:none"}" '
            f'src="data:image/png;base64,{self.png[k]}">' for k in self.states)
        return (f'<div class="s3rec-switcher" id="{q(self.element_id)}" data-s3rec-switcher '
                f'data-current="{q(self.value)}">'
                f'<label style="display:block;margin-bottom:0.4em">{q(self.label)} '
                f'<input type="range" min="0" max="{len(self.states) - 1}" step="1" value="{i}" '
                f'aria-label="{q(self.label)}" style="vertical-align:middle;width:16em" oninput="{q(self._JS)}"> '
                f'<output style="{self.READOUT_STYLE}">{q(self.value)}</output></label>{images}</div>')

    def __repr__(self) -> str:
        return f"FigureSwitcher({self.label}: {', '.join(self.states)}; showing {self.value})"


#: The numbers of negatives chapter 7's switcher offers.
INFONCE_NEGATIVES = (1, 3, 7, 15, 31, 63, 127, 255, 511, 1023)


def infonce_switcher(negatives=INFONCE_NEGATIVES, value: int = 15, dim: int = 4, n: int = 1024, seed: int = 0,
                     rhos=(0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
                     element_id: str = "ch03-infonce-switcher") -> tuple[FigureSwitcher, dict]:
    """Chapter 7: the InfoNCE estimate (optimal critic) against the true MI, one figure per number of
    negatives K, all on the same axes. Returns the switcher and the sweep it was drawn from
    (:func:`infonce_demo.infonce_sweep`, ``estimate`` [len(negatives), len(rhos)])."""
    from .infonce_demo import infonce_sweep
    from .plots import plot_infonce_sweep

    sweep = infonce_sweep(rhos, tuple(negatives), dim=dim, n=n, seed=seed)
    top = 1.05 * max(float(np.max(sweep["true_mi"])), float(np.max(sweep["ceiling"])))
    figures, alt = {}, {}
    for i, K in enumerate(sweep["negatives"]):
        one = {**sweep, "negatives": [K], "estimate": sweep["estimate"][i:i + 1], "ceiling": sweep["ceiling"][i:i + 1]}
        gap = float(np.max(one["true_mi"] - one["estimate"][0]))
        figures[K] = plot_infonce_sweep(one, ylim=(-0.1, top), title=(
            f"K = {K}: ceiling log(K+1) = {one['ceiling'][0]:.2f} nats, largest gap to the truth {gap:.2f}"))
        alt[K] = (f"InfoNCE estimates with K = {K} negatives (points) against the true mutual information (black "
                  f"curve) for correlations {rhos[0]} to {rhos[-1]}, d = {dim}: the estimates stay under the dashed "
                  f"ceiling at {one['ceiling'][0]:.2f} nats; the largest gap to the truth is {gap:.2f} nats.")
    return FigureSwitcher(figures, element_id, "negatives K", value=value, alt=alt), sweep


class SweepSwitcher(FigureSwitcher):
    """Several sliders over figures rendered in advance (no kernel): one slider per knob of a 1-D sweep.

    ``figures``: ``{knob: {value: Figure}}``; ``defaults``: ``{knob: value}``, the point all sweeps share.
    Moving one slider shows that knob's figure for its value and puts the other sliders back to their
    defaults (the grid holds 1-D sweeps, not every combination). Root: ``id=element_id``,
    ``data-s3rec-switcher``, ``data-current`` (``knob=value``); images ``img[data-state="knob=value"]``;
    one ``input[type=range][data-knob=knob]`` per knob. ``readouts`` (optional): ``{(knob, value): text}``, a
    line of text per state shown above the figures (``p[data-state][data-readout]``, one visible at a time):
    the numbers of the state as text, not only inside the picture."""

    def __init__(self, figures: dict, defaults: dict, element_id: str, labels: dict | None = None,
                 value: tuple | None = None, alt: dict | None = None, readouts: dict | None = None,
                 colors: int | None = None):
        if not figures:
            raise ValueError("SweepSwitcher needs at least one figure")
        self.knobs = list(figures)
        # every slider runs from its smallest value (left) to its largest (right), whatever the order given
        self.values = {k: sorted(float(v) for v in figures[k]) for k in self.knobs}
        self.defaults = {k: float(defaults[k]) for k in self.knobs}
        for k in self.knobs:
            if self.defaults[k] not in self.values[k]:
                raise ValueError(f"the default {k} = {defaults[k]} has no figure ({self.values[k]})")
        self.labels = {k: (labels or {}).get(k, k) for k in self.knobs}
        flat = {self.state(k, v): fig for k in self.knobs for v, fig in figures[k].items()}
        knob, v = value if value is not None else (self.knobs[0], self.defaults[self.knobs[0]])
        flat_alt = {self.state(k, v2): a for (k, v2), a in (alt or {}).items()}
        self.readouts = {self.state(k, v2): text for (k, v2), text in (readouts or {}).items()}
        super().__init__(flat, element_id, "sweep", value=self.state(knob, v), alt=flat_alt, colors=colors)

    @staticmethod
    def state(knob: str, value) -> str:
        return f"{knob}={float(value):g}"

    #: Every slider's name has the same fixed width (and its readout too, ``READOUT_STYLE``): the rows are equally
    #: wide, so the tracks line up, also in a centred figure.
    LABEL_STYLE = "display:inline-block;width:7.5em;text-align:left"

    _JS = ("var r=this.closest('[data-s3rec-switcher]'),k=this.dataset.knob,v=this.dataset.values.split(',')[+this.value];"
           "r.querySelectorAll('input[data-knob]').forEach(function(s){if(s!==this){s.value=s.dataset.default;"
           "s.nextElementSibling.textContent=s.dataset.values.split(',')[+s.value];}},this);"
           "this.nextElementSibling.textContent=v;var st=k+'='+v;"
           "r.querySelectorAll('img[data-state],p[data-readout]').forEach(function(e){"
           "e.style.display=(e.dataset.state===st)?'':'none';});"
           "r.dataset.current=st;")

    def _repr_html_(self) -> str:
        import html

        q = lambda text: html.escape(str(text), quote=True)  # noqa: E731
        current_knob, current_value = self.value.split("=")
        rows = []
        for k in self.knobs:
            labels = [f"{v:g}" for v in self.values[k]]
            d = labels.index(f"{self.defaults[k]:g}")
            i = labels.index(current_value) if k == current_knob else d
            rows.append(
                f'<label style="display:block;margin-bottom:0.2em"><span style="{self.LABEL_STYLE}">'
                f'{q(self.labels[k])}</span> <input type="range" min="0" max="{len(labels) - 1}" step="1" '
                f'value="{i}" data-knob="{q(k)}" data-default="{d}" data-values="{q(",".join(labels))}" '
                f'aria-label="{q(self.labels[k])}" style="vertical-align:middle;width:12em" '
                f'oninput="{q(self._JS)}"> <output style="{self.READOUT_STYLE}">{q(labels[i])}</output></label>')
        readouts = "".join(
            f'<p data-state="{q(s)}" data-readout aria-live="polite" style="margin:0.4em 0;'
            f'{"" if s == self.value else "display:none"}">{q(self.readouts[s])}</p>'
            for s in self.states if s in self.readouts)
        images = "".join(
            f'<img data-state="{q(s)}" alt="{q(self.alt.get(s, s))}" '
            f'style="max-width:100%;{"" if s == self.value else "display:none"}" '
            f'src="data:image/png;base64,{self.png[s]}">' for s in self.states)
        return (f'<div class="s3rec-switcher" id="{q(self.element_id)}" data-s3rec-switcher '
                f'data-current="{q(self.value)}">{"".join(rows)}{readouts}{images}</div>')

    def __repr__(self) -> str:
        return f"SweepSwitcher({', '.join(self.knobs)}; showing {self.value})"


# ------------------------------------------------------------------------------------------------
# Chapter 13's sweep on sliders: the stored runs of the ``sweep`` experiment (LastFM, official preset)
# ------------------------------------------------------------------------------------------------
#: The knobs of the sweep, in slider order, and how each is labelled.
SWEEP_LABELS = {"mask_ratio": "mask ratio p", "aap": "λ AAP", "mip": "λ MIP", "map": "λ MAP", "sp": "λ SP"}
#: Fine-tuning seeds per point in the campaign (``--seeds 3``: seed 1 pre-trains, seeds 2 and 3 fine-tune from it).
SWEEP_SEEDS = 3
#: What a point that is not stored yet says, in its figure and its readout.
SWEEP_QUEUED = "not stored yet: queued in the campaign (results/campaign.tsv, stage s1)"
#: The short live run behind "Run this point": the first ``max_users`` LastFM users, ``pretrain_epochs`` of
#: pre-training, at most ``finetune_epochs`` of fine-tuning with early stopping after ``patience``: 44 to 57 s on
#: one thread of a shared, busy 2-core CPU (measured 2026-12-07, data loading included). The stored runs use
#: every user, 20 pre-training epochs and at most 200 fine-tuning epochs with patience 10 (their ``config``).
LIVE_RUN = {"max_users": 500, "pretrain_epochs": 2, "finetune_epochs": 20, "patience": 5}
_OBJECTIVE_COLORS = {"aap": "#1F77B4", "mip": "#D62728", "map": "#2CA02C", "sp": "#9467BD"}


def sweep_defaults() -> dict:
    """The point every 1-D sweep passes through: the paper's mask ratio (0.2) and loss weights, ``{knob: value}``."""
    return {"mask_ratio": 0.2, **{k: float(v) for k, v in PAPER_WEIGHTS.items()}}


def sweep_plan() -> dict:
    """``{knob: [values]}``: every planned value of each knob (``experiments.SWEEP`` and the paper's), ascending."""
    from ..experiments import SWEEP

    d = sweep_defaults()
    return {k: sorted({float(v) for v in SWEEP[k]} | {d[k]}) for k in SWEEP_LABELS}


def _point_of(run: dict) -> tuple[str, float | None]:
    from ..errors import ConfigError
    from ..experiments import sweep_point

    if run.get("experiment") != "sweep":
        raise ValueError(f"{run.get('key')}: not a run of the sweep experiment")
    try:
        return sweep_point(run.get("tag") or "")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def sweep_frame(results: list[dict], metric: str = "NDCG@10"):
    """The stored runs of the ``sweep`` experiment, one row per (run, sweep it belongs to): a run at the paper's
    point belongs to all five sweeps (five rows, ``paper`` True). Columns: ``knob``, ``value`` (float), ``paper``,
    ``tag``, ``seed``, ``valid`` and ``test`` (``metric``), ``key``. ``results``: run dicts as
    ``experiments.load_results("sweep", ...)`` returns them; an empty list gives an empty frame (nothing stored
    yet). A run of another experiment, or with a value outside ``sweep_plan()``: ValueError naming it."""
    from .verdicts import sweep_rows

    plan = sweep_plan()
    for r in results:  # every run belongs to the sweep, at a planned value
        knob, value = _point_of(r)
        if knob != "paper" and not any(np.isclose(value, v) for v in plan[knob]):
            raise ValueError(f"{r.get('key')}: {knob} = {value:g} is not a planned value ({plan[knob]})")
    return sweep_rows(results, sweep_defaults(), metric)


def sweep_table(frame, knob: str, which: str = "test"):
    """One knob's sweep: one row per planned value (ascending), stored or not: ``value``, ``n`` (seeds stored),
    ``mean``, ``sd`` (over seeds; NaN below 2), ``values`` (the seeds' ``which``), ``stored`` (n > 0),
    ``complete`` (n >= SWEEP_SEEDS), ``paper`` (the paper's value). ``frame``: :func:`sweep_frame`."""
    import pandas as pd

    from .verdicts import sweep_values

    if knob not in SWEEP_LABELS:
        raise ValueError(f"unknown knob {knob!r}; choose one of {', '.join(SWEEP_LABELS)}")

    rows = []
    for v in sweep_plan()[knob]:
        vals = sweep_values(frame, knob, v, which)
        rows.append({"value": v, "n": len(vals), "mean": float(np.mean(vals)) if vals else float("nan"),
                     "sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan"), "values": vals,
                     "stored": bool(vals), "complete": len(vals) >= SWEEP_SEEDS,
                     "paper": bool(np.isclose(v, sweep_defaults()[knob]))})
    return pd.DataFrame(rows)


def sweep_point_runs(results: list[dict], knob: str, value: float) -> list[dict]:
    """The stored runs at ``knob = value`` (the others at the paper's point), sorted by seed: the paper's runs
    for the paper's value. Empty when none is stored yet."""
    if knob not in SWEEP_LABELS:
        raise ValueError(f"unknown knob {knob!r}; choose one of {', '.join(SWEEP_LABELS)}")
    at_paper = bool(np.isclose(value, sweep_defaults()[knob]))
    out = []
    for r in results:
        k, v = _point_of(r)
        if (k == "paper" and at_paper) or (k == knob and np.isclose(v, value)):
            out.append(r)
    return sorted(out, key=lambda r: int(r["seed"]))


def _check_planned(knob: str, value: float) -> None:
    if knob not in SWEEP_LABELS:
        raise ValueError(f"unknown knob {knob!r}; choose one of {', '.join(SWEEP_LABELS)}")
    if not any(np.isclose(value, v) for v in sweep_plan()[knob]):
        raise ValueError(f"{knob} = {value} is not a planned value of the sweep ({sweep_plan()[knob]})")


def _spread(row) -> str:
    """``0.3582 ± 0.0021 (3 seeds)`` or ``0.3582 (1 seed)`` for a stored row of :func:`sweep_table`."""
    n = int(row["n"])
    return f"{row['mean']:.4f} (1 seed)" if n < 2 else f"{row['mean']:.4f} ± {row['sd']:.4f} (mean ± sd, {n} seeds)"


def sweep_readout(frame, knob: str, value: float, metric: str = "NDCG@10") -> str:
    """The numbers of one state as a line of text (the readout under the sliders), e.g. ``λ MAP = 0.5: test
    NDCG@10 0.3612 ± 0.0021 (3 seeds; mean ± sd over fine-tuning seeds); the paper's point 0.3549 ± ...``, or
    ``... not stored yet: queued in the campaign ...``."""
    _check_planned(knob, value)
    table = sweep_table(frame, knob)
    row = table[np.isclose(table.value, value)].iloc[0]
    paper = table[table.paper].iloc[0]
    head = f"{SWEEP_LABELS[knob]} = {value:g}"
    if not row["stored"]:
        text = f"{head}: {SWEEP_QUEUED}."
    else:
        more = SWEEP_SEEDS - int(row["n"])
        text = (f"{head}: test {metric} {_spread(row)}" + (f"; {more} more seed{'s' if more != 1 else ''} queued"
                                                           if more > 0 else "") + ".")
    if row["paper"]:
        return text[:-1] + " (the paper's point: every other knob at its paper value)."
    return text + (f" The paper's point: {_spread(paper)}." if paper["stored"]
                   else f" The paper's point: {SWEEP_QUEUED}.")


def sweep_alt(frame, knob: str, value: float, metric: str = "NDCG@10") -> str:
    """Alt text of one state's figure: what its three panels show, with the state's numbers."""
    table = sweep_table(frame, knob)
    stored = int(table.stored.sum())
    return (f"Three panels for {SWEEP_LABELS[knob]} = {value:g} on LastFM (the other knobs at the paper's point). "
            f"Top: test {metric} for each planned value of {SWEEP_LABELS[knob]} ({stored} of {len(table)} values "
            f"stored), each seed a dot with the mean and standard deviation beside it, a dashed line at the paper's "
            f"value and the chosen value shaded. Bottom left: the four pre-training losses per epoch of the chosen "
            f"point, each divided by its first epoch. Bottom right: validation {metric} per fine-tuning epoch, one "
            f"line per seed. " + sweep_readout(frame, knob, value, metric))


_QUEUED_LINES = "not stored yet:\nqueued in the\ncampaign\n(results/campaign.tsv,\nstage s1)"


def _note(ax, text: str) -> None:
    """``text`` in the middle of an empty panel (no ticks)."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_sweep_state(results: list[dict], knob: str, value: float, frame=None, ylim: tuple | None = None,
                     finetune_ylim: tuple | None = None, metric: str = "NDCG@10"):
    """One state of chapter 13's sweep sliders, 7.2 x 6.2 in, three panels: (a) ``knob``'s sweep (test
    ``metric`` per planned value: each seed a dot, mean ± sd, the paper's value dashed, ``value`` shaded; a value
    not stored yet is marked "queued"); (b) the chosen point's four pre-training losses per epoch, each divided
    by its first epoch (an objective of weight 0 is not computed: the panel says so); (c) validation ``metric``
    per fine-tuning epoch, one line per seed, a star at the epoch restored for the test. A point not stored yet
    draws (a) and says ``SWEEP_QUEUED`` in (b) and (c). ``ylim``, ``finetune_ylim``: fixed axes for (a) and (c),
    so that all states share them."""
    import matplotlib.pyplot as plt

    from .plots import color, style

    _check_planned(knob, value)
    style()
    frame = sweep_frame(results, metric) if frame is None else frame
    table = sweep_table(frame, knob)
    runs = sweep_point_runs(results, knob, value)
    label = SWEEP_LABELS[knob]
    fig = plt.figure(figsize=(7.2, 6.2), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(1.0, 1.0))
    ax, ax_pre, ax_fine = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])

    # (a) the sweep
    values = table.value.to_numpy(float)
    span = float(values.max() - values.min()) or 1.0
    ax.axvspan(value - 0.025 * span, value + 0.025 * span, color=color("S3-Rec"), alpha=0.15, lw=0,
               label=f"chosen: {label} = {value:g}")
    ax.axvline(sweep_defaults()[knob], color="black", ls="--", lw=1, label="the paper's value")
    stored = table[table.stored]
    if ylim is None:
        ys = [y for vs in stored["values"] for y in vs]
        ylim = (min(ys) - 0.01, max(ys) + 0.01) if ys else (0.0, 1.0)
    for _, row in table.iterrows():
        chosen = bool(np.isclose(row["value"], value))
        c = color("S3-Rec") if chosen else "#7F8C8D"
        if not row["stored"]:  # a hollow marker on the axis: planned, queued
            ax.plot([row["value"]], [0.03], transform=ax.get_xaxis_transform(), marker="o", ms=6, mfc="white",
                    mec=c, mew=1.2, clip_on=False, zorder=4)
            continue
        ax.scatter([row["value"] - 0.012 * span] * row["n"], row["values"], s=16, color=c, alpha=0.7, lw=0,
                   zorder=3)
        ax.errorbar([row["value"] + 0.012 * span], [row["mean"]], yerr=[0 if row["n"] < 2 else row["sd"]], fmt="D",
                    ms=7 if chosen else 5, color=c, capsize=3, zorder=4)
    ax.scatter([], [], s=16, color="#7F8C8D", lw=0, label="a seed")
    ax.errorbar([], [], yerr=[], fmt="D", ms=5, color="#7F8C8D", capsize=3, label="mean ± sd")
    if not table.stored.all():
        ax.plot([], [], ls="none", marker="o", ms=6, mfc="white", mec="#7F8C8D", label="not stored yet\n(queued)")
    ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.set_xlim(values.min() - 0.06 * span, values.max() + 0.06 * span)
    ax.set_ylim(*ylim)
    ax.set_xlabel(label + ("  (the weights at the paper's)" if knob == "mask_ratio" else
                           "  (the mask ratio and the other weights at the paper's)"))
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"(a) {label} swept on LastFM: {int(table.stored.sum())} of {len(table)} values stored",
                 fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)

    # (b) pre-training losses of the chosen point
    ax_pre.set_title("(b) pre-training losses", fontsize=10, loc="left")
    ax_pre.set_xlabel("pre-training epoch")
    ax_pre.set_ylabel("loss ÷ its value at epoch 1")
    pre = next((r["pretrain_history"] for r in runs if r.get("pretrain_history")), None)
    if not runs:
        _note(ax_pre, _QUEUED_LINES)
    elif not pre:
        _note(ax_pre, "no pre-training history stored\nfor this point")
    else:
        epochs = [h["epoch"] + 1 for h in pre]
        for k in ("aap", "mip", "map", "sp"):
            if k in pre[0]:
                ax_pre.plot(epochs, [h[k] / pre[0][k] for h in pre], color=_OBJECTIVE_COLORS[k], lw=1.6,
                            label=k.upper())
            else:  # weight 0: the objective is not computed, so there is no curve; the legend says why
                ax_pre.plot([], [], ls="none", label=f"{k.upper()}: λ = 0, not computed")
        ax_pre.set_ylim(0, 1.1)
        ax_pre.legend(loc="lower left", ncol=1, frameon=False, fontsize=8)

    # (c) fine-tuning curves
    ax_fine.set_title("(c) fine-tuning, per seed", fontsize=10, loc="left")
    ax_fine.set_xlabel("fine-tuning epoch")
    ax_fine.set_ylabel(f"validation {metric}")
    if not runs:
        _note(ax_fine, _QUEUED_LINES)
    for i, r in enumerate(runs):
        hist = r.get("history") or []
        xs = [h["epoch"] + 1 for h in hist]
        ys = [h[f"valid_{metric}"] for h in hist]
        c = plt.get_cmap("Oranges")(0.45 + 0.2 * i)
        ax_fine.plot(xs, ys, color=c, lw=1.2, label=f"seed {r['seed']}")
        best = r.get("best_epoch")
        if best is not None and 0 <= best < len(hist):
            ax_fine.plot([best + 1], [ys[best]], marker="*", ms=9, color=c, zorder=3)
    if finetune_ylim is not None:
        ax_fine.set_ylim(*finetune_ylim)
    if runs:
        ax_fine.legend(loc="lower right", frameon=False, fontsize=8, title="★ restored", title_fontsize=8)
    return fig


def _finetune_ylim(results: list[dict], metric: str) -> tuple:
    ys = [h[f"valid_{metric}"] for r in results for h in (r.get("history") or [])]
    return (min(ys) - 0.02, max(ys) + 0.02) if ys else (0.0, 1.0)


def live_kernel() -> bool:
    """Whether a person drives this notebook through a running kernel (Jupyter, Colab): ipywidgets imported
    (it is, above), an IPython kernel running, and not the site's build (``book/_ext/s3rec_site.py`` sets
    ``S3REC_SITE_BUILD=1``: the build executes the chapters in kernels nobody sees)."""
    import os

    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel") and os.environ.get("S3REC_SITE_BUILD") != "1"


def stored_settings(results: list[dict]) -> dict:
    """What the stored runs used, read from the first one: ``users`` (its dataset's), ``pretrain_epochs``,
    ``finetune_epochs``, ``patience`` (its config); ``{}`` when nothing is stored."""
    for r in results:
        cfg, stats = r.get("config") or {}, r.get("dataset_stats") or {}
        return {"users": stats.get("users"),
                **{k: cfg.get(k) for k in ("pretrain_epochs", "finetune_epochs", "patience")}}
    return {}


def live_run_label(settings: dict, stored: dict | None = None) -> str:
    """How a live run is shorter than the stored ones, in words. ``settings``: a live run's ``settings``
    (users, all_users, pretrain_epochs, finetune_epochs, patience); ``stored``: :func:`stored_settings`."""
    s, st = settings, stored or {}
    of = f" of {s['all_users']}" if s.get("all_users") else ""
    text = (f"the first {s['users']}{of} LastFM users, {s['pretrain_epochs']} pre-training epoch"
            f"{'s' if s['pretrain_epochs'] != 1 else ''}, at most {s['finetune_epochs']} fine-tuning epochs with "
            f"patience {s['patience']}")
    if st:
        text += (f"; the stored runs: {st['users']} users, {st['pretrain_epochs']} pre-training epochs, at most "
                 f"{st['finetune_epochs']} fine-tuning epochs with patience {st['patience']}")
    return text


def run_sweep_point(mask_ratio: float = 0.2, weights: dict | None = None, seed: int = 1, dataset: str = "LastFM",
                    **overrides) -> dict:
    """A short live run of any point (not only the planned ones): the ``official`` preset with ``mask_ratio`` and
    ``weights`` (over ``PAPER_WEIGHTS``), shortened by ``LIVE_RUN`` (``overrides`` change it: ``max_users``,
    ``pretrain_epochs``, ``finetune_epochs``, ``patience``), pre-trained (skipped when every weight is 0) and
    fine-tuned on one CPU thread. Returns ``{"mask_ratio", "weights", "pretrain_history", "finetune" (the
    :func:`s3rec_lite.train.finetune` result), "settings" (users, all_users, epochs, patience), "seconds"}``."""
    from ..config import preset
    from ..pipeline import prepare_dataset
    from ..train import build_model, finetune, pretrain, seed_everything

    if not 0.0 <= float(mask_ratio) < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    unknown = set(weights or {}) - set(PAPER_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown loss weight {sorted(unknown)[0]!r}; choose among {', '.join(PAPER_WEIGHTS)}")
    t0 = time.perf_counter()
    short = {**LIVE_RUN, **overrides}
    cfg = preset("official", progress=False, device="cpu", seed=seed, mask_ratio=float(mask_ratio),
                 loss_weights={**PAPER_WEIGHTS, **{k: float(v) for k, v in (weights or {}).items()}},
                 packed_pretraining=True, packed_finetuning=True, **short)
    ds = prepare_dataset(dataset, cfg)
    full = prepare_dataset(dataset, cfg.replace(max_users=None))  # the same loaded dataset (kept), all its users
    with single_thread():
        seed_everything(cfg.seed)
        model = build_model(cfg, ds)
        history = pretrain(model, ds, cfg) if any(w > 0 for w in cfg.loss_weights.values()) else []
        result = finetune(model, ds, cfg)
    settings = {"users": ds.num_users, "all_users": full.num_users, "pretrain_epochs": len(history),
                "finetune_epochs": cfg.finetune_epochs, "patience": cfg.patience}
    return {"mask_ratio": float(mask_ratio), "weights": dict(cfg.loss_weights), "pretrain_history": history,
            "finetune": result, "settings": settings, "dataset": dataset, "seconds": time.perf_counter() - t0}


def plot_live_run(live: list[dict], stored: list[dict], metric: str = "NDCG@10"):
    """The live runs (dashed) beside the stored runs of a point (solid): validation ``metric`` per fine-tuning
    epoch, 7.2 x 3.2 in; each live run's legend entry says its setting and its test ``metric``."""
    import matplotlib.pyplot as plt

    from .plots import style

    style()
    fig, ax = plt.subplots(figsize=(7.2, 3.2), layout="constrained")
    for r in stored:
        ys = [h[f"valid_{metric}"] for h in r.get("history") or []]
        ax.plot(range(1, len(ys) + 1), ys, color="#7F8C8D", lw=1.2,
                label=f"stored, seed {r['seed']} (all users, {(r.get('config') or {}).get('pretrain_epochs', '?')} "
                      f"pre-training epochs): test {r['test'][metric]:.4f}")
    for i, r in enumerate(live):
        ys = [h[f"valid_{metric}"] for h in r["finetune"]["history"]]
        w = ", ".join(f"{k.upper()} {v:g}" for k, v in r["weights"].items())
        ax.plot(range(1, len(ys) + 1), ys, ls="--", lw=1.6, color=plt.get_cmap("tab10")(i % 10),
                label=(f"live: p {r['mask_ratio']:g}, λ {w} ({r['settings']['users']} users, "
                       f"{r['settings']['pretrain_epochs']} pre-training ep.): "
                       f"test {r['finetune']['test'][metric]:.4f}"))
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("live runs (dashed, shorter: fewer users and epochs) beside the stored runs (solid)", fontsize=9,
                 loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False, fontsize=7)
    return fig


def kernel_note(stored: dict | None = None) -> str:
    """What the page says about **Run this point** (HTML): it needs a live kernel, and how its run is shorter
    than the stored ones (``LIVE_RUN`` against ``stored``, :func:`stored_settings`)."""
    short = live_run_label({"users": LIVE_RUN["max_users"], "all_users": (stored or {}).get("users"), **LIVE_RUN},
                           stored)
    return ("<p><em>Run this point</em> (a short live run of any setting, drawn beside the stored runs) needs a "
            "live Python kernel. On the website the sliders switch between the stored runs only; open the chapter "
            "in Colab (the rocket icon, then <em>Colab</em>) or in Jupyter and run the cell under the figure "
            f"(<code>explorer.live()</code>). The live run is shorter than the stored ones: {short}.</p>")


class SweepExplorer:
    """Chapter 13's sweep on sliders. Static (no kernel): one pre-rendered state per planned point
    (:func:`plot_sweep_state`, readout :func:`sweep_readout`, alt :func:`sweep_alt`) in a :class:`SweepSwitcher`
    (``.switcher``), also for the points not stored yet. ``live()``: in a live kernel, the same sliders as
    ipywidgets with a "Run this point" button (:class:`SweepLivePanel`). ``results``: the stored runs of the
    ``sweep`` experiment (any subset: the store fills as the campaign runs)."""

    def __init__(self, results: list[dict], element_id: str = "ch10-sweep-switcher", metric: str = "NDCG@10"):
        import matplotlib.pyplot as plt

        self.results, self.metric = list(results), metric
        self.frame = sweep_frame(self.results, metric)
        self.plan, self.defaults = sweep_plan(), sweep_defaults()
        ys = self.frame.test.astype(float)
        ylim = (float(ys.min()) - 0.01, float(ys.max()) + 0.01) if len(ys) else (0.0, 1.0)
        fylim = _finetune_ylim(self.results, metric)
        figures, alt, readouts = {}, {}, {}
        for knob in SWEEP_LABELS:
            figures[knob] = {}
            for v in self.plan[knob]:
                with plt.rc_context({"figure.max_open_warning": 0}):  # all drawn first, then saved and closed
                    figures[knob][v] = plot_sweep_state(self.results, knob, v, self.frame, ylim, fylim, metric)
                alt[(knob, v)] = sweep_alt(self.frame, knob, v, metric)
                readouts[(knob, v)] = sweep_readout(self.frame, knob, v, metric)
        self.switcher = SweepSwitcher(figures, self.defaults, element_id, labels=SWEEP_LABELS, alt=alt,
                                      readouts=readouts, colors=128)  # 28 states: a palette keeps the page small

    @property
    def stored_points(self) -> int:
        """Planned points with at least one stored run (the paper's point counted once)."""
        return sum(int(sweep_table(self.frame, k).query("stored and not paper").shape[0]) for k in SWEEP_LABELS) + \
            int(bool(self.frame.paper.any()))

    def _repr_html_(self) -> str:
        return self.switcher._repr_html_()  # the note on the button comes with ``live()``'s cell

    def live(self, run_fn=None):
        """In a live kernel (:func:`live_kernel`): a :class:`SweepLivePanel`; elsewhere (the site's build) the
        note that the button needs a kernel."""
        from IPython.display import HTML

        if not live_kernel():
            return HTML(kernel_note(stored_settings(self.results)))
        return SweepLivePanel(self, run_fn=run_fn or run_sweep_point)

    def __repr__(self) -> str:
        return f"SweepExplorer({len(self.results)} stored runs; {self.switcher!r})"


class SweepLivePanel(W.VBox):
    """The sweep's sliders in a live kernel: one ``SelectionSlider`` per knob over its planned values (moving one
    puts the others back to the paper's point), the stored state of the chosen point (its readout and figure),
    and **Run this point**: a short live run (``run_fn``, default :func:`run_sweep_point`) drawn beside that
    point's stored runs (:func:`plot_live_run`). ``run()`` can be called directly, with any setting."""

    def __init__(self, explorer: SweepExplorer, run_fn=run_sweep_point, **run_kwargs):
        style = {"description_width": "90px"}
        self.explorer, self.run_fn, self.run_kwargs = explorer, run_fn, run_kwargs
        self.sliders = {k: W.SelectionSlider(options=[(f"{v:g}", v) for v in explorer.plan[k]],
                                             value=explorer.defaults[k], description=SWEEP_LABELS[k], style=style,
                                             continuous_update=False, layout=W.Layout(width="26em"))
                        for k in SWEEP_LABELS}
        self.stored = W.HTML()
        self.button = W.Button(description="Run this point", button_style="primary", icon="play",
                               tooltip="a short live run of this setting (about a minute on one CPU thread)")
        self.stored_settings = stored_settings(explorer.results)
        planned = {"users": LIVE_RUN["max_users"], "all_users": self.stored_settings.get("users"), **LIVE_RUN}
        self.status = W.HTML("<b>Run this point</b>: a short live run, "
                             f"{live_run_label(planned, self.stored_settings)} "
                             "(about a minute on one CPU thread).")
        self.output = W.Output()
        self.live_runs: list[dict] = []
        self.figure = None
        self._resetting = False
        for k, s in self.sliders.items():
            s.observe(functools.partial(self._moved, k), names="value")
        self.button.on_click(lambda _button: self.run())
        super().__init__([W.HBox([W.VBox(list(self.sliders.values())), W.VBox([self.button, self.status])]),
                          self.stored, self.output])
        self._show_stored()

    def point(self) -> tuple[str, float]:
        """``(knob, value)`` the sliders show: the knob moved away from the paper's point, else the first knob."""
        for k, s in self.sliders.items():
            if not np.isclose(s.value, self.explorer.defaults[k]):
                return k, float(s.value)
        k = next(iter(self.sliders))
        return k, self.explorer.defaults[k]

    def _moved(self, knob: str, change) -> None:
        if self._resetting:
            return
        self._resetting = True
        try:
            for k, s in self.sliders.items():
                if k != knob:
                    s.value = self.explorer.defaults[k]
        finally:
            self._resetting = False
        self._show_stored()

    def _show_stored(self) -> None:
        import html

        state = SweepSwitcher.state(*self.point())
        sw = self.explorer.switcher
        self.stored.value = (f"<p>{html.escape(sw.readouts.get(state, state))}</p><img alt=\""
                             f"{html.escape(sw.alt.get(state, state), quote=True)}\" style=\"max-width:100%\" "
                             f"src=\"data:image/png;base64,{sw.png[state]}\">")

    def run(self, mask_ratio: float | None = None, weights: dict | None = None) -> dict:
        """A short live run of the sliders' point (or of ``mask_ratio`` / ``weights``, any values), drawn beside
        the stored runs of the sliders' point; returns the run (also appended to ``live_runs``)."""
        knob, value = self.point()
        setting = {"mask_ratio": self.explorer.defaults["mask_ratio"],
                   "weights": {k: self.explorer.defaults[k] for k in PAPER_WEIGHTS}}
        if knob == "mask_ratio":
            setting["mask_ratio"] = value
        else:
            setting["weights"][knob] = value
        if mask_ratio is not None:
            setting["mask_ratio"] = float(mask_ratio)
        setting["weights"].update(weights or {})
        self.button.disabled = True
        self.status.value = "running (about a minute)..."
        try:
            result = self.run_fn(setting["mask_ratio"], setting["weights"], **self.run_kwargs)
        finally:
            self.button.disabled = False
        self.live_runs.append(result)
        stored = sweep_point_runs(self.explorer.results, knob, value)
        self.figure = plot_live_run(self.live_runs, stored, self.explorer.metric)
        t = result["finetune"]["test"][self.explorer.metric]
        self.status.value = (f"live test {self.explorer.metric} <b>{t:.4f}</b> in {result.get('seconds', 0):.0f} s "
                             f"({live_run_label(result['settings'], self.stored_settings)}): not comparable with the "
                             "stored numbers, only with other live runs.")
        _show(self.output, self.figure)
        return result


# ------------------------------------------------------------------------------------------------
# Chapter 16's loss-weight sliders on a static page: the stored LastFM ablation runs
# ------------------------------------------------------------------------------------------------
#: The ablation's objectives, in slider order, and their slider labels.
ABLATION_LABELS = {"aap": "λ AAP", "mip": "λ MIP", "map": "λ MAP", "sp": "λ SP"}


#: The datasets of the weight sliders in panel order: the paper's first, LastFM (the small-data case) last.
WEIGHT_DATASETS = PAPER_DATASETS


def _weight_datasets(frame) -> list:
    """The datasets of ``frame`` (a ``dataset`` column, or one unnamed dataset: ``[None]``), the paper's first."""
    if "dataset" not in frame.columns:
        return [None]
    rank = {d: i for i, d in enumerate(WEIGHT_DATASETS)}
    return sorted(dict.fromkeys(frame.dataset), key=lambda d: rank.get(d, len(rank)))


def _weight_values(frame, dataset, metric: str):
    """The ``metric`` of each stored variant of one dataset (``None``: the whole frame), indexed by variant."""
    part = frame if dataset is None else frame[frame.dataset == dataset]
    return part.set_index("variant")[metric]


def plot_weight_state(frame, removed: str | None, metric: str = "NDCG@10"):
    """One state of the loss-weight sliders: the test ``metric`` of every stored variant (light bars), the
    variant with ``removed``'s weight at 0 (or all four, ``None``) dark and named in the title; one panel per
    dataset (the paper's first), and a panel whose dataset has no run of that variant yet says so.
    ``frame``: one row per variant (and dataset), columns ``variant`` ("full", "no-aap", ...), ``metric`` and,
    optionally, ``dataset``."""
    import matplotlib.pyplot as plt

    from .plots.results_plots import _variant_label
    from .plots.style import color, style

    style()
    chosen = "full" if removed is None else f"no-{removed}"
    datasets = _weight_datasets(frame)
    fig, axes = plt.subplots(len(datasets), 1, figsize=(6.0, 0.6 + 2.4 * len(datasets)), squeeze=False)
    what = "all four objectives" if removed is None else f"λ {removed.upper()} = 0"
    for ax, d in zip(axes[:, 0], datasets):
        values = _weight_values(frame, d, metric)
        y = np.arange(len(values))
        ax.barh(y, values.values, color=[color("S3-Rec") if v == chosen else "#D0D0D0" for v in values.index],
                edgecolor="black", linewidth=0.5)
        ax.set_yticks(y, [_variant_label(v) for v in values.index])
        ax.invert_yaxis()
        left = max(0.0, round(float(values.min()) - 0.05, 2))
        ax.set_xlim(left, float(values.max()) + 0.02)
        ax.set_xlabel(f"test {metric}" + (f" (the axis starts at {left:g})" if left > 0 else ""))
        name = "" if d is None else f"{d}: "
        if "full" in values.index:
            ax.axvline(float(values["full"]), color="black", linestyle=":", linewidth=1)
        if chosen not in values.index:
            ax.set_title(f"{name}{what}: not stored yet", fontsize=10)
            continue
        v = float(values[chosen])
        gap = "" if removed is None or "full" not in values.index else f" ({v - float(values['full']):+.3f} against all four)"
        ax.set_title(f"{name}{what}: {v:.3f}{gap}", fontsize=10)
    fig.tight_layout()
    return fig


def weight_switcher(frame, weights: dict, metric: str = "NDCG@10", element_id: str = "ch12-weights-switcher"):
    """Chapter 16's loss-weight sliders without a kernel: one slider per objective, from 0 (left end: the
    objective removed) to its paper weight (right end, the default), each position showing the stored runs of that
    setting (:func:`plot_weight_state`, a panel per dataset). ``frame``: one row per stored variant ("full",
    "no-aap", ...) and, optionally, dataset (a ``dataset`` column); ``weights``: the paper's weights. An objective
    gets a slider once some dataset has its removal stored. Only one weight is at 0 at a time: the ablation removes
    one objective per run, so moving a slider puts the others back."""
    figures, alt = {}, {}
    datasets = _weight_datasets(frame)
    for k in ABLATION_LABELS:
        if f"no-{k}" not in set(frame.variant):
            continue
        figures[k] = {}
        for w in (0.0, float(weights[k])):  # 0 at the slider's left end, the paper's weight (the default) at its right
            removed = None if w else k
            chosen = "full" if removed is None else f"no-{k}"
            figures[k][w] = plot_weight_state(frame, removed, metric)
            said = []
            for d in datasets:
                values = _weight_values(frame, d, metric)
                said.append(("" if d is None else f"{d} ") + (f"{float(values[chosen]):.3f}" if chosen in values.index
                                                              else "not stored yet"))
            alt[(k, w)] = (f"Horizontal bars of test {metric} for S3-Rec pre-trained with all four objectives "
                           f"and with each one removed{'' if datasets == [None] else ', one panel per dataset'}; "
                           "highlighted: " + ("all four objectives" if removed is None else f"{ABLATION_LABELS[k]} = 0")
                           + ", " + "; ".join(said) + ".")
    readouts = {state: _weight_readout(frame, state[0], state[1], metric, datasets) for state in alt}
    sw = SweepSwitcher(figures, {k: float(weights[k]) for k in figures}, element_id, labels=ABLATION_LABELS, alt=alt,
                       readouts=readouts)
    return sw


def _weight_readout(frame, knob: str, weight: float, metric: str, datasets) -> str:
    """The line under the weight sliders for one state: per dataset, the chosen variant's ``metric`` (± its sd
    over runs and the number of runs, where ``frame`` has ``std`` and ``seeds``) and its gap to all four."""
    chosen = "full" if weight else f"no-{knob}"
    said = []
    for d in datasets:
        part = frame if d is None else frame[frame.dataset == d]
        rows = part.set_index("variant")
        name = "" if d is None else f"{d}: "
        if chosen not in rows.index:
            said.append(f"{name}not stored yet")
            continue
        r = rows.loc[chosen]
        text = f"{float(r[metric]):.4f}"
        if "std" in rows.columns and r["std"] == r["std"]:
            text += f" ± {float(r['std']):.4f}"
        if "seeds" in rows.columns:
            text += f" ({int(r['seeds'])} run{'s' if int(r['seeds']) != 1 else ''})"
        if chosen != "full" and "full" in rows.index:
            text += f", {float(r[metric]) - float(rows.loc['full', metric]):+.4f} against all four"
        said.append(name + text)
    head = "all four objectives" if weight else f"λ {knob.upper()} = 0 ({knob.upper()} removed)"
    return f"{head}; test {metric}, mean ± sd over runs: " + "; ".join(said)
