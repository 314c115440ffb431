"""Diagrams of S3-Rec's pre-training, drawn with matplotlib patches and arrows (no external tools).

``pretraining_diagram()`` is the whole model in pre-training (our drawing of the paper's Fig. 1);
``aap_diagram()``, ``mip_diagram()``, ``map_diagram()`` and ``sp_diagram()`` show one objective each: which
vector meets which head matrix W, what the positives and negatives are, and where the mask sits. They draw
what :mod:`s3rec_lite.objectives` computes by default (the authors' released code, ``variant="official"``):

* AAP: the encoder output F_t at *unmasked* positions, through W_AAP, against every attribute embedding
  (multi-label BCE; the paper's Eq. 11 uses the item embedding E_i instead, noted on the figure);
* MIP: F_t at a masked position, through W_MIP, against the hidden item's embedding and a sampled item's;
* MAP: F_t at a masked position, through W_MAP, against every attribute embedding;
* SP: the last output of the sequence with a segment masked, through W_SP, against the last outputs of the
  segment alone and of another user's segment.

Each head is ``nn.Linear(d, d)``: a score is (W x + b)^T y, the x side goes through W. The pairwise losses
(MIP, SP) put a sigmoid on each score, f = σ((W x + b)^T y), then softplus(f⁻ − f⁺). Figures are at most 7
inches wide, fonts 10 pt and up.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ...config import PAPER_WEIGHTS
from .style import style

__all__ = ["pretraining_diagram", "aap_diagram", "mip_diagram", "map_diagram", "sp_diagram", "objective_diagram"]

# one colour per role, the same in every diagram
ITEM, MASK, POS, NEG = "#FFFFFF", "#F5B7B1", "#ABEBC6", "#D5D8DC"
ENCODER, HEAD, ITEM_TABLE, ATTR_TABLE = "#D6EAF8", "#F9E79F", "#E8DAEF", "#FAD7A0"
RED, GREEN, GREY, DARK = "#C0392B", "#1E8449", "#7F8C8D", "#2C3E50"
FONT = 12  # base font size (pt)


def _canvas(width: float, height: float):
    """A figure whose data coordinates are inches: x in [0, width], y in [0, height]."""
    style()
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, w, h, text="", fc=ITEM, ec=DARK, fontsize=FONT, lw=1.4, weight="normal", round_=0.08):
    """A rounded box with centred text; returns its centre (cx, cy)."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=f"round,pad=0,rounding_size={round_}", fc=fc, ec=ec, lw=lw))
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, weight=weight, color=DARK)
    return x + w / 2, y + h / 2


def _arrow(ax, start, end, color=DARK, lw=1.4, ls="-", rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color, lw=lw, ls=ls,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))


def _text(ax, x, y, s, fontsize=FONT, ha="center", va="center", color=DARK, **kw):
    ax.text(x, y, s, fontsize=fontsize, ha=ha, va=va, color=color, **kw)


def _tokens(ax, x0, y, labels, fills, size=0.62, gap=0.1, fontsize=FONT):
    """A row of square tokens from x0 at height y; returns the centres [(cx, cy), ...]."""
    centres = []
    for k, (label, fill) in enumerate(zip(labels, fills)):
        x = x0 + k * (size + gap)
        centres.append(_box(ax, x, y, size, size, label, fc=fill, fontsize=fontsize, round_=0.05))
    return centres


def _title(ax, width, height, s):
    _text(ax, width / 2, height - 0.3, s, fontsize=13, weight="bold")


# the running example: five items, the 3rd and the newest (5th) masked, as the official code always masks
# the newest item; i3 is hidden behind the first mask
SEQ = [r"$i_1$", r"$i_2$", "[M]", r"$i_4$", "[M]"]
SEQ_FILL = [ITEM, ITEM, MASK, ITEM, MASK]


def _encoder_stack(ax, x0, y0, labels, fills, highlight, highlight_fill, enc_label="bidirectional encoder",
                   out_names=None):
    """Tokens at y0, the encoder above them, the outputs F_t above that; returns the outputs' centres."""
    size, gap = 0.62, 0.1
    width = len(labels) * size + (len(labels) - 1) * gap
    tok = _tokens(ax, x0, y0, labels, fills)
    _box(ax, x0 - 0.05, y0 + 0.95, width + 0.1, 0.6, enc_label, fc=ENCODER, fontsize=FONT - 1)
    for cx, cy in tok:
        _arrow(ax, (cx, cy + size / 2), (cx, y0 + 0.95), lw=1.0)
    out_names = out_names or [rf"$F_{k + 1}$" for k in range(len(labels))]
    out_fill = [highlight_fill if k in highlight else ITEM for k in range(len(labels))]
    outs = _tokens(ax, x0, y0 + 1.85, out_names, out_fill)
    for cx, cy in outs:
        _arrow(ax, (cx, y0 + 1.55), (cx, cy - size / 2), lw=1.0)
    return outs


# ------------------------------------------------------------------------------------------------
# The whole model
# ------------------------------------------------------------------------------------------------
def pretraining_diagram(weights: dict | None = None):
    """S3-Rec in pre-training (the paper's Fig. 1, redrawn): item and attribute embedding tables, the
    bidirectional Transformer encoder on a masked sequence, the four heads and the weighted loss.
    ``weights``: the loss weights λ to print (default: the paper's, ``config.PAPER_WEIGHTS``)."""
    w = {**PAPER_WEIGHTS, **(weights or {})}
    W_, H = 7.0, 7.6
    fig, ax = _canvas(W_, H)
    _title(ax, W_, H, "S3-Rec pre-training: one encoder, four objectives")

    # loss
    loss = (rf"$\mathcal{{L}} = {w['aap']:.1f}\,\mathcal{{L}}_{{AAP}} + {w['mip']:.1f}\,\mathcal{{L}}_{{MIP}}"
            rf" + {w['map']:.1f}\,\mathcal{{L}}_{{MAP}} + {w['sp']:.1f}\,\mathcal{{L}}_{{SP}}$")
    _box(ax, 0.6, 6.35, 5.8, 0.6, loss, fc="#FDFEFE", fontsize=FONT)

    # heads
    heads = [("AAP", r"$W_{\mathrm{AAP}}$", r"$F_t$ vs $E_A$"), ("MIP", r"$W_{\mathrm{MIP}}$", r"$F_t$ vs $e_i$"),
             ("MAP", r"$W_{\mathrm{MAP}}$", r"$F_t$ vs $E_A$"), ("SP", r"$W_{\mathrm{SP}}$", r"$\tilde s$ vs $s$")]
    head_c = {}
    for k, (name, wname, pair) in enumerate(heads):
        x = 0.15 + k * 1.72
        _box(ax, x, 4.85, 1.52, 1.1, fc=HEAD)
        _text(ax, x + 0.76, 5.72, name, weight="bold")
        _text(ax, x + 0.76, 5.4, wname)
        _text(ax, x + 0.76, 5.07, pair, fontsize=FONT - 1)
        head_c[name] = (x + 0.76, 4.85)
        _arrow(ax, (x + 0.76, 5.95), (min(max(x + 0.76, 0.9), 6.1), 6.35), lw=1.0)

    # encoder on a masked sequence (positions 3 and 5 masked)
    x0 = 0.35
    outs = _encoder_stack(ax, x0, 1.55, SEQ, SEQ_FILL, highlight={2, 4}, highlight_fill=MASK,
                          enc_label="bidirectional Transformer\n(every position sees all)")
    for k, (cx, cy) in enumerate(outs):
        top = (cx, cy + 0.31)
        if k in (2, 4):
            _arrow(ax, top, head_c["MIP"], color=RED, lw=1.2)
            _arrow(ax, top, head_c["MAP"], color=RED, lw=1.2)
        else:
            _arrow(ax, top, head_c["AAP"], color=GREY, lw=1.2)

    # SP: three more views through the same encoder
    _box(ax, 4.25, 2.5, 2.6, 1.45, fc=ENCODER)
    _text(ax, 5.55, 3.62, "SP: 3 more passes", fontsize=FONT - 1, weight="bold")
    _text(ax, 5.55, 3.22, r"$\tilde s$: segment masked", fontsize=FONT - 1)
    _text(ax, 5.55, 2.88, r"$s$: segment alone, $s^-$: other", fontsize=FONT - 2)
    _text(ax, 5.55, 2.63, "user's segment; last position", fontsize=FONT - 2)
    _arrow(ax, (5.55, 3.95), head_c["SP"], color=DARK, lw=1.2)
    _arrow(ax, (3.95, 2.8), (4.25, 2.8), lw=1.0, ls="--")

    # input: embeddings of the items plus positions
    _text(ax, x0 + 1.78, 1.2, r"input: $E_I$ rows of the items $+$ positions $P$", fontsize=FONT - 1)
    _box(ax, 0.15, 0.1, 3.1, 0.75, r"item embeddings $E_I$" + "\n(also MIP's targets $e_i$)", fc=ITEM_TABLE,
         fontsize=FONT - 1)
    _box(ax, 3.55, 0.1, 3.3, 0.75, r"attribute embeddings $E_A$" + "\n(AAP's and MAP's targets)", fc=ATTR_TABLE,
         fontsize=FONT - 1)
    _arrow(ax, (1.7, 0.85), (1.7, 1.05), lw=1.0)
    # legend: what the colours of the tokens mean
    _box(ax, 4.3, 1.3, 0.3, 0.3, fc=MASK, round_=0.03)
    _text(ax, 4.7, 1.45, "masked ([M]): MIP, MAP", fontsize=FONT - 2, ha="left")
    _box(ax, 4.3, 1.85, 0.3, 0.3, fc=ITEM, round_=0.03)
    _text(ax, 4.7, 2.0, "unmasked: AAP", fontsize=FONT - 2, ha="left")
    return fig


# ------------------------------------------------------------------------------------------------
# One objective each
# ------------------------------------------------------------------------------------------------
def _attribute_column(ax, x, y_top, n=6, positives=(0, 2, 3)):
    """A column of attribute embeddings e_a (rows of E_A), positives green and negatives grey; returns the
    centres of the drawn rows."""
    size, gap = 0.36, 0.08
    centres = []
    for k in range(n):
        y = y_top - (k + 1) * size - k * gap
        fill = POS if k in positives else NEG
        name = rf"$e_{{a_{k + 1}}}$" if k < n - 1 else r"$\vdots$"
        centres.append(_box(ax, x, y, 0.7, size, name, fc=fill, fontsize=FONT - 1, round_=0.04))
    _text(ax, x + 0.35, y_top + 0.25, r"$E_A$ (all)", fontsize=FONT - 1)
    return centres


def _head(ax, name, x=3.95, y=2.45):
    """The head's matrix W (a d x d linear layer with bias) as a box; returns (left middle, right middle)."""
    _box(ax, x, y, 1.05, 0.7, rf"$W_{{\mathrm{{{name}}}}}$", fc=HEAD, fontsize=FONT + 1)
    return (x, y + 0.35), (x + 1.05, y + 0.35)


def _attribute_objective(name: str, position: int, title: str, x_label: str, positives_text: str, note: str):
    W_, H = 7.0, 4.7
    fig, ax = _canvas(W_, H)
    _title(ax, W_, H, title)
    masked = SEQ[position] == "[M]"
    outs = _encoder_stack(ax, 0.2, 0.7, SEQ, SEQ_FILL, highlight={position}, highlight_fill=MASK if masked else POS)
    if masked:
        _text(ax, outs[position][0], 0.45, r"hides $i_3$", fontsize=FONT - 2, color=RED)
    cx, cy = outs[position]
    left, right = _head(ax, name)
    _arrow(ax, (cx, cy + 0.31), left, color=RED if masked else GREEN, rad=-0.3)
    _text(ax, 4.47, 2.2, x_label, fontsize=FONT - 1)
    col = _attribute_column(ax, 6.15, 4.05)
    for c in col[:-1]:
        _arrow(ax, right, (6.15, c[1]), color=GREEN if c in col[:1] + col[2:4] else GREY, lw=0.9)
    _text(ax, 3.9, 1.2, r"logit $= (W x + b)^\top e_a$, every $a$", fontsize=FONT - 1, ha="left")
    _text(ax, 3.9, 0.83, "binary cross-entropy, summed:", fontsize=FONT - 1, ha="left")
    _text(ax, 3.9, 0.48, f"1 for {positives_text} (green), 0 for all others", fontsize=FONT - 2, ha="left")
    _text(ax, 0.15, 0.12, note, fontsize=FONT - 2, ha="left", color=GREY)
    return fig


def aap_diagram():
    """AAP as the released code computes it: F_t at an unmasked position (here F_2, item i_2), through W_AAP,
    against every attribute embedding; i_2's attributes are the positives, every other one a negative."""
    return _attribute_objective(
        "AAP", 1, "AAP: an unmasked output vs every attribute", r"$x = F_2$ (sees $i_2$)", r"$i_2$'s tags",
        r"Paper (Eq. 10-11): $x = E_{i_2}$, the item embedding, and InfoNCE with $\sigma$ instead of BCE.")


def map_diagram():
    """MAP: F_t at a masked position (here F_3, hiding i_3), through W_MAP, against every attribute
    embedding; the hidden item's attributes are the positives, every other one a negative."""
    return _attribute_objective(
        "MAP", 2, "MAP: a masked output vs every attribute", r"$x = F_3$ (at [M])", r"$i_3$'s tags",
        "Paper (Eq. 14-15): InfoNCE with sigmoid scores instead of BCE; the same vectors.")


def mip_diagram():
    """MIP: F_t at a masked position (here F_3, hiding i_3), through W_MIP, against the embedding of the hidden
    item (positive) and of a sampled item that is not in the sequence (negative)."""
    W_, H = 7.0, 4.7
    fig, ax = _canvas(W_, H)
    _title(ax, W_, H, "MIP: a masked output vs the hidden item")
    outs = _encoder_stack(ax, 0.2, 0.7, SEQ, SEQ_FILL, highlight={2}, highlight_fill=MASK)
    _text(ax, outs[2][0], 0.45, r"hides $i_3$", fontsize=FONT - 2, color=RED)
    left, right = _head(ax, "MIP")
    _arrow(ax, (outs[2][0], outs[2][1] + 0.31), left, color=RED, rad=-0.3)
    _text(ax, 4.47, 2.2, r"$x = F_3$", fontsize=FONT - 1)
    pos = _box(ax, 5.75, 3.45, 1.1, 0.5, r"$e_{i_3}$", fc=POS)
    neg = _box(ax, 5.75, 1.65, 1.1, 0.5, r"$e_{j}$", fc=NEG)
    _text(ax, 6.3, 4.2, "hidden item (+)", fontsize=FONT - 2)
    _text(ax, 6.95, 1.4, r"$j$ not in the sequence (−)", fontsize=FONT - 2, ha="right")
    _arrow(ax, right, (5.75, pos[1]), color=GREEN)
    _arrow(ax, right, (5.75, neg[1]), color=GREY)
    _text(ax, 6.3, 2.8, r"rows of $E_I$", fontsize=FONT - 2)
    _text(ax, 3.9, 0.95, r"$f^\pm = \sigma((W F_3 + b)^\top e)$", fontsize=FONT - 1, ha="left")
    _text(ax, 3.9, 0.55, r"loss $= \mathrm{softplus}(f^- - f^+)$, summed", fontsize=FONT - 1, ha="left")
    _text(ax, 0.15, 0.12, "Paper (Eq. 12-13): InfoNCE over sampled items; the same vectors.", fontsize=FONT - 2,
          ha="left", color=GREY)
    return fig


def sp_diagram():
    """SP: three views of the sequence through the same bidirectional encoder, each read at its last position:
    s̃ (the segment masked) goes through W_SP; s (the segment alone) is the positive, s⁻ (another user's segment
    of the same length, in the same place) the negative."""
    W_, H = 7.0, 5.6
    fig, ax = _canvas(W_, H)
    _title(ax, W_, H, "SP: the rest of the sequence vs its segment")
    size, gap = 0.5, 0.07
    rows = [(r"$\tilde s$", [r"$i_1$", "[M]", "[M]", r"$i_4$", r"$i_5$"], [ITEM, MASK, MASK, ITEM, ITEM], ENCODER),
            (r"$s$", ["[M]", r"$i_2$", r"$i_3$", "[M]", "[M]"], [MASK, POS, POS, MASK, MASK], POS),
            (r"$s^-$", ["[M]", r"$j_7$", r"$j_8$", "[M]", "[M]"], [MASK, NEG, NEG, MASK, MASK], NEG)]
    names = ["context: the segment masked", "positive: the segment alone", "negative: another user's segment"]
    ends = []
    for r, ((label, toks, fills, out_fill), name) in enumerate(zip(rows, names)):
        y = 4.35 - r * 1.3
        _text(ax, 0.1, y + 0.52, name, fontsize=FONT - 2, ha="left")
        for k, (t, f) in enumerate(zip(toks, fills)):
            _box(ax, 0.1 + k * (size + gap), y - 0.25, size, size, t, fc=f, fontsize=FONT - 1, round_=0.04)
        _box(ax, 3.05, y - 0.25, 0.95, 0.5, "encoder", fc=ENCODER, fontsize=FONT - 2)
        _arrow(ax, (2.95, y), (3.05, y), lw=1.0)
        ends.append(_box(ax, 4.25, y - 0.25, 0.6, 0.5, label, fc=out_fill, fontsize=FONT))
        _arrow(ax, (4.0, y), (4.25, y), lw=1.0)
    _text(ax, 3.52, 4.95, "same encoder,\nlast position", fontsize=FONT - 2)
    _box(ax, 5.35, ends[0][1] - 0.3, 1.05, 0.6, r"$W_{\mathrm{SP}}$", fc=HEAD, fontsize=FONT + 1)
    _arrow(ax, (4.85, ends[0][1]), (5.35, ends[0][1]))
    _arrow(ax, (5.87, ends[0][1] - 0.3), (4.88, ends[1][1] + 0.05), color=GREEN)
    _arrow(ax, (6.0, ends[0][1] - 0.3), (4.88, ends[2][1] + 0.05), color=GREY)
    _text(ax, 5.5, ends[0][1] - 0.75, r"$f^+$", fontsize=FONT, color=GREEN, ha="left")
    _text(ax, 5.65, ends[0][1] - 1.65, r"$f^-$", fontsize=FONT, color=GREY, ha="left")
    _text(ax, 0.1, 0.95, r"$f^+ = \sigma((W \tilde s + b)^\top s)$,   $f^- = \sigma((W \tilde s + b)^\top s^-)$",
          fontsize=FONT - 1, ha="left")
    _text(ax, 0.1, 0.55, r"loss $= \mathrm{softplus}(f^- - f^+)$, summed over the batch", fontsize=FONT - 1,
          ha="left")
    _text(ax, 0.1, 0.15, "Paper (Eq. 16-17): InfoNCE over other users' segments; the same vectors.",
          fontsize=FONT - 2, ha="left", color=GREY)
    return fig


def objective_diagram(name: str):
    """The diagram of one objective by name: "aap", "mip", "map" or "sp" (any case)."""
    table = {"aap": aap_diagram, "mip": mip_diagram, "map": map_diagram, "sp": sp_diagram}
    key = str(name).lower()
    if key not in table:
        raise ValueError(f"unknown objective {name!r}; choose one of aap, mip, map, sp")
    return table[key]()
