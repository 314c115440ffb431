"""Interactive widgets of the book, built in the package so that they are tested without a browser.

``PretrainExplorer`` (chapter 13): sliders for the mask ratio and the four loss weights (AAP, MIP, MAP, SP),
and a Run button that re-runs a tiny pre-training + fine-tuning (:func:`run_tiny_experiment`) and redraws.
``PretrainExplorer`` is an ``ipywidgets.VBox``; ``run()`` (the callback behind the button) can be called
directly, and leaves its numbers in ``.result`` and its figure in ``.figure``. On the book's static pages its
sliders render (their state is saved with the page) but nothing re-runs: that needs a live kernel (Colab).

``FigureSwitcher`` (chapter 7's ``infonce_switcher``: the number of negatives in the InfoNCE estimate) works
without a kernel: every state is rendered in advance and a slider switches between the pictures.
"""
from __future__ import annotations

import functools
import time

import ipywidgets as W
import numpy as np

from ..config import PAPER_WEIGHTS, preset
from ..data import make_synthetic
from .infonce_demo import single_thread

__all__ = ["TINY_DATA", "tiny_config", "run_tiny_experiment", "single_thread", "PretrainExplorer", "FigureSwitcher",
           "INFONCE_NEGATIVES", "infonce_switcher", "EXPLORER_LABELS", "explorer_frame", "explorer_sweep",
           "explorer_baseline", "plot_explorer_state", "SweepSwitcher", "explorer_switcher"]

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


class PretrainExplorer(W.VBox):
    """Chapter 13: sliders for the mask ratio and the loss weights, a Run button, the resulting figure."""

    def __init__(self, initial: dict | None = None, run_fn=run_tiny_experiment, **run_kwargs):
        style = {"description_width": "90px"}
        self.mask_ratio = W.FloatSlider(value=0.2, min=0.0, max=0.8, step=0.05, description="mask ratio p",
                                        readout_format=".2f", style=style)
        self.weights = {k: W.FloatSlider(value=v, min=0.0, max=2.0, step=0.1, description=f"λ {k.upper()}",
                                         readout_format=".1f", style=style) for k, v in PAPER_WEIGHTS.items()}
        self.button = W.Button(description="Run", button_style="primary", icon="play",
                               tooltip="pre-train and fine-tune with these settings (a few seconds)")
        self.status = W.HTML("Set the sliders, then press <b>Run</b> (needs a live kernel, e.g. Colab).")
        self.output = W.Output()
        self.run_fn, self.run_kwargs = run_fn, run_kwargs
        self.result, self.figure, self.runs = initial, None, 0
        sliders = W.VBox([self.mask_ratio, *self.weights.values()])
        super().__init__([W.HBox([sliders, W.VBox([self.button, self.status])]), self.output])
        self.button.on_click(lambda _button: self.run())
        if initial is not None:  # show its numbers; the figure is drawn on the first Run
            self._set_status(initial)

    def values(self) -> dict:
        return {"mask_ratio": float(self.mask_ratio.value), "weights": {k: float(s.value) for k, s in self.weights.items()}}

    def run(self) -> dict:
        """Run the tiny experiment with the sliders' values, redraw, and return the result."""
        v = self.values()
        self.button.disabled = True
        self.status.value = "running..."
        try:
            self.result = self.run_fn(v["mask_ratio"], v["weights"], **self.run_kwargs)
        finally:
            self.button.disabled = False
        self.runs += 1
        self._draw(self.result)
        return self.result

    def _draw(self, result: dict) -> None:
        from .plots import plot_tiny_experiment

        self.figure = plot_tiny_experiment(result)
        self._set_status(result)
        _show(self.output, self.figure)

    def _set_status(self, result: dict) -> None:
        t = result["finetune"]["test"]
        self.status.value = (f"test NDCG@10 <b>{t['NDCG@10']:.3f}</b>, HR@10 {t['HR@10']:.3f}"
                             + (f" ({result['seconds']:.1f} s)" if "seconds" in result else ""))


class FigureSwitcher:
    """A slider that switches between figures rendered in advance: it works on a static page (no kernel).

    Every state is drawn now, stored as a PNG inside the HTML, and a range input shows one of them at a time
    (a few lines of inline JavaScript, no widget library). The same HTML works in a live notebook. The root
    element has ``id=element_id``, ``data-s3rec-switcher`` and ``data-current`` (the state shown); each image
    has ``data-state``; the control is ``input[type=range]``: a browser test sets its value, dispatches an
    ``input`` event and checks that ``data-current`` and the visible image changed.
    """

    def __init__(self, figures: dict, element_id: str, label: str, value=None, alt: dict | None = None):
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
            self.png[str(key)] = base64.b64encode(buf.getvalue()).decode("ascii")

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


# ------------------------------------------------------------------------------------------------
# Chapter 13's explorer on a static page: the stored grid of the ``explorer`` experiment
# ------------------------------------------------------------------------------------------------
#: The knobs of the explorer, in slider order, and how each is labelled.
EXPLORER_LABELS = {"mask_ratio": "mask ratio p", "aap": "λ AAP", "mip": "λ MIP", "map": "λ MAP", "sp": "λ SP"}


def explorer_frame(results: list[dict], metric: str = "NDCG@10", split: str = "test"):
    """The stored runs of the ``explorer`` experiment as one row per run: ``knob`` (``mask_ratio``, ``aap``,
    ``mip``, ``map``, ``sp``; ``paper`` for the paper's setting, ``none`` for no pre-training), ``value``,
    ``seed``, ``valid`` and ``test`` (``metric``), ``commit``. The paper's setting is one point of every sweep:
    :func:`explorer_sweep` adds it where needed. Bad input (no runs, a run of another experiment): ValueError."""
    import pandas as pd

    from ..experiments import explorer_point

    if not results:
        raise ValueError("no stored runs of the explorer experiment (python -m s3rec_lite experiment explorer "
                         "--preset explorer)")
    rows = []
    for r in results:
        if r.get("experiment") != "explorer":
            raise ValueError(f"{r.get('key')}: not a run of the explorer experiment")
        knob, value = explorer_point(r["tag"], r["model"])
        rows.append({"knob": knob, "value": value, "seed": r["seed"], "valid": r["valid"][metric],
                     "test": r["test"][metric], "commit": r["provenance"]["commit"], "key": r["key"]})
    return pd.DataFrame(rows)


def explorer_sweep(frame, knob: str, which: str = "test"):
    """One knob's sweep: one row per value (the paper's setting included) with ``mean``, ``sd`` (over seeds,
    NaN for one seed), ``n`` and the seeds' values in ``values``, sorted by value."""
    import pandas as pd

    from ..experiments import explorer_defaults

    if knob not in EXPLORER_LABELS:
        raise ValueError(f"unknown knob {knob!r}; choose one of {', '.join(EXPLORER_LABELS)}")
    part = frame[frame.knob == knob]
    paper = frame[frame.knob == "paper"].assign(knob=knob, value=explorer_defaults()[knob])
    part = pd.concat([part, paper]).sort_values(["value", "seed"])
    out = part.groupby("value")[which].agg(mean="mean", sd="std", n="count", values=list).reset_index()
    return out


def explorer_baseline(frame, which: str = "test") -> dict:
    """No pre-training (SASRec, the same network from its initialisation): mean, sd and n over seeds."""
    v = frame[frame.knob == "none"][which]
    if v.empty:
        raise ValueError("the stored grid has no run without pre-training")
    return {"mean": float(v.mean()), "sd": float(v.std()), "n": int(v.count()), "values": v.tolist()}


def plot_explorer_state(frame, knob: str, value: float, which: str = "test", metric: str = "NDCG@10"):
    """One state of the explorer: the sweep of ``knob`` (every seed a dot, mean ± sd a bar), the chosen
    ``value`` highlighted, and the no-pre-training band (mean ± sd). 6.4 x 3.4 in."""
    import matplotlib.pyplot as plt

    from .plots import color, style

    style()
    sweep, base = explorer_sweep(frame, knob, which), explorer_baseline(frame, which)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    lo, hi = base["mean"] - base["sd"], base["mean"] + base["sd"]
    ax.axhspan(lo, hi, color=color("SASRec"), alpha=0.18, lw=0)
    ax.axhline(base["mean"], color=color("SASRec"), lw=1.5, label="no pre-training (SASRec): mean ± sd")
    xs = list(range(len(sweep)))
    for x, (_, row) in zip(xs, sweep.iterrows()):
        chosen = abs(row["value"] - value) < 1e-9
        c = color("S3-Rec") if chosen else "#7F8C8D"
        jitter = np.linspace(-0.12, 0.12, len(row["values"])) if len(row["values"]) > 1 else [0.0]
        ax.scatter([x + j for j in jitter], row["values"], s=14, color=c, alpha=0.6, zorder=3, lw=0)
        ax.errorbar([x + 0.25], [row["mean"]], yerr=[0 if np.isnan(row["sd"]) else row["sd"]], fmt="D",
                    ms=8 if chosen else 5, color=c, capsize=3, zorder=4,
                    label="pre-trained: seeds (dots), mean ± sd" if chosen else None)
    ax.set_xticks(xs, [f"{v:g}" for v in sweep["value"]])
    ax.set_xlabel(EXPLORER_LABELS[knob] + ("  (others at the paper's values)" if knob != "mask_ratio" else
                                             "  (weights at the paper's values)"))
    ax.set_ylabel(f"{which} {metric}")
    row = sweep[np.isclose(sweep["value"], value)]
    if row.empty:
        plt.close(fig)
        raise ValueError(f"{knob} = {value} is not a stored point of the grid ({', '.join(map(str, sweep['value']))})")
    m, sd = float(row["mean"].iloc[0]), float(row["sd"].iloc[0])
    ax.set_title(f"{EXPLORER_LABELS[knob]} = {value:g}: {m:.3f} ± {sd:.3f}; no pre-training "
                 f"{base['mean']:.3f} ± {base['sd']:.3f}", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2)
    all_values = [v for vs in sweep["values"] for v in vs] + [lo, hi]
    pad = 0.05 * (max(all_values) - min(all_values) or 1.0)
    ax.set_ylim(min(all_values) - pad, max(all_values) + pad)
    fig.tight_layout()
    return fig


class SweepSwitcher(FigureSwitcher):
    """Several sliders over figures rendered in advance (no kernel): one slider per knob of a 1-D sweep.

    ``figures``: ``{knob: {value: Figure}}``; ``defaults``: ``{knob: value}``, the point all sweeps share.
    Moving one slider shows that knob's figure for its value and puts the other sliders back to their
    defaults (the grid holds 1-D sweeps, not every combination). Root: ``id=element_id``,
    ``data-s3rec-switcher``, ``data-current`` (``knob=value``); images ``img[data-state="knob=value"]``;
    one ``input[type=range][data-knob=knob]`` per knob."""

    def __init__(self, figures: dict, defaults: dict, element_id: str, labels: dict | None = None,
                 value: tuple | None = None, alt: dict | None = None):
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
        super().__init__(flat, element_id, "explorer", value=self.state(knob, v), alt=flat_alt)

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
           "r.querySelectorAll('img[data-state]').forEach(function(e){e.style.display=(e.dataset.state===st)?'':'none';});"
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
        images = "".join(
            f'<img data-state="{q(s)}" alt="{q(self.alt.get(s, s))}" '
            f'style="max-width:100%;{"" if s == self.value else "display:none"}" '
            f'src="data:image/png;base64,{self.png[s]}">' for s in self.states)
        return (f'<div class="s3rec-switcher" id="{q(self.element_id)}" data-s3rec-switcher '
                f'data-current="{q(self.value)}">{"".join(rows)}{images}</div>')

    def __repr__(self) -> str:
        return f"SweepSwitcher({', '.join(self.knobs)}; showing {self.value})"


def explorer_switcher(results: list[dict], which: str = "test", element_id: str = "ch10-explorer-switcher"):
    """Chapter 13's explorer without a kernel: one pre-rendered figure per stored point of the ``explorer``
    grid (:func:`plot_explorer_state`), a slider per knob. Returns the switcher and the frame it was drawn
    from (:func:`explorer_frame`)."""
    from ..experiments import explorer_defaults

    frame = explorer_frame(results)
    defaults = explorer_defaults()
    base = explorer_baseline(frame, which)
    import matplotlib.pyplot as plt

    figures, alt = {}, {}
    for knob in EXPLORER_LABELS:
        sweep = explorer_sweep(frame, knob, which)
        figures[knob] = {}
        for v, m, sd, n in zip(sweep["value"], sweep["mean"], sweep["sd"], sweep["n"]):
            with plt.rc_context({"figure.max_open_warning": 0}):  # all drawn first, then saved and closed
                figures[knob][v] = plot_explorer_state(frame, knob, v, which)
            alt[(knob, v)] = (
                f"{which.capitalize()} NDCG@10 of pre-training + fine-tuning for each stored value of "
                f"{EXPLORER_LABELS[knob]} (the other settings at the paper's), {n} seeds each as dots with their "
                f"mean and standard deviation, against a band for no pre-training. Highlighted: "
                f"{EXPLORER_LABELS[knob]} = {v:g}, {m:.3f} ± {sd:.3f}, against {base['mean']:.3f} ± "
                f"{base['sd']:.3f} without pre-training.")
    sw = SweepSwitcher(figures, defaults, element_id, labels=EXPLORER_LABELS, alt=alt)
    return sw, frame


# ------------------------------------------------------------------------------------------------
# Chapter 16's loss-weight sliders on a static page: the stored LastFM ablation runs
# ------------------------------------------------------------------------------------------------
#: The ablation's objectives, in slider order, and their slider labels.
ABLATION_LABELS = {"aap": "λ AAP", "mip": "λ MIP", "map": "λ MAP", "sp": "λ SP"}


def plot_weight_state(frame, removed: str | None, metric: str = "NDCG@10"):
    """One state of the loss-weight sliders: the test ``metric`` of every stored variant (light bars), the
    variant with ``removed``'s weight at 0 (or all four, ``None``) dark and named in the title.
    ``frame``: one row per variant, columns ``variant`` ("full", "no-aap", ...) and ``metric``."""
    import matplotlib.pyplot as plt

    from .plots.results_plots import _variant_label
    from .plots.style import color, style

    style()
    chosen = "full" if removed is None else f"no-{removed}"
    values = frame.set_index("variant")[metric]
    full = float(values["full"])
    fig, ax = plt.subplots(figsize=(6.0, 3.0))
    y = np.arange(len(values))
    ax.barh(y, values.values, color=[color("S3-Rec") if v == chosen else "#D0D0D0" for v in values.index],
            edgecolor="black", linewidth=0.5)
    ax.set_yticks(y, [_variant_label(v) for v in values.index])
    ax.invert_yaxis()
    ax.axvline(full, color="black", linestyle=":", linewidth=1)
    lo = float(values.min())
    left = max(0.0, round(lo - 0.05, 2))
    ax.set_xlim(left, float(values.max()) + 0.02)
    ax.set_xlabel(f"test {metric}" + (f" (the axis starts at {left:g})" if left > 0 else ""))
    v = float(values[chosen])
    what = "all four objectives" if removed is None else f"λ {removed.upper()} = 0"
    ax.set_title(f"{what}: {v:.3f}" + ("" if removed is None else f" ({v - full:+.3f} against all four)"))
    fig.tight_layout()
    return fig


def weight_switcher(frame, weights: dict, metric: str = "NDCG@10", element_id: str = "ch12-weights-switcher"):
    """Chapter 16's loss-weight sliders without a kernel: one slider per objective, from 0 (left end: the
    objective removed) to its paper weight (right end, the default), each position showing the stored run of that
    setting (:func:`plot_weight_state`). ``frame``: one row per stored variant ("full", "no-aap", ...); ``weights``: the paper's weights. Only one weight is at 0 at a
    time: the ablation removes one objective per run, so moving a slider puts the others back."""
    figures, alt = {}, {}
    for k in ABLATION_LABELS:
        if f"no-{k}" not in set(frame.variant):
            continue
        figures[k] = {}
        for w in (0.0, float(weights[k])):  # 0 at the slider's left end, the paper's weight (the default) at its right
            removed = None if w else k
            figures[k][w] = plot_weight_state(frame, removed, metric)
            value = float(frame.set_index("variant")[metric]["full" if removed is None else f"no-{k}"])
            alt[(k, w)] = (f"Horizontal bars of test {metric} for S3-Rec pre-trained with all four objectives "
                           f"and with each one removed; highlighted: "
                           + ("all four objectives" if removed is None else f"{ABLATION_LABELS[k]} = 0")
                           + f", {value:.3f}.")
    sw = SweepSwitcher(figures, {k: float(weights[k]) for k in figures}, element_id, labels=ABLATION_LABELS, alt=alt)
    return sw
