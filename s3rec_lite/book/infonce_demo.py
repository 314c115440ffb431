"""InfoNCE on a problem whose mutual information is known: correlated Gaussians (book chapter 7).

Setting: ``x, y`` in R^dim, each coordinate pair ``(x_j, y_j)`` standard normal with correlation ``rho``, the
pairs independent. The true mutual information is ``I(X; Y) = -dim/2 * log(1 - rho^2)`` nats.

InfoNCE (the paper's Eq. 2-3; van den Oord et al. 2018): score the positive pair ``(x, y)`` against ``K``
negatives ``y'_1..y'_K`` drawn from the marginal p(y) with a critic ``f``. With ``N = K + 1`` candidates,

    I(X; Y) >= log N - L_NCE,     L_NCE = E[ -log( exp f(x, y) / sum_{c in candidates} exp f(x, c) ) ]

(Eq. 3 is ``objectives.infonce``). Whatever the critic, the estimate ``log N - L_NCE`` can never exceed
``log N``: more negatives raise the ceiling and tighten the bound. Two critics are provided: the optimal one,
``f*(x, y) = log p(y | x) / p(y)`` (known in closed form here, so only the bound itself is on display), and a
bilinear critic ``f(x, y) = x^T W y`` learned by minimising L_NCE, the form S3-Rec uses (Eq. 10-17).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from ..objectives import infonce

__all__ = [
    "true_mi", "sample_correlated_gaussians", "optimal_critic", "infonce_estimate", "fit_bilinear_critic",
    "infonce_sweep", "negatives_sweep", "single_thread",
]


@contextlib.contextmanager
def single_thread():
    """Run PyTorch on one CPU thread inside the block. Tensors this small gain nothing from more threads,
    and on a busy machine (a shared CI runner) extra threads spin and can make a run 5-10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def true_mi(rho: float | np.ndarray, dim: int = 1) -> float | np.ndarray:
    """I(X; Y) in nats for ``dim`` independent coordinate pairs with correlation ``rho``."""
    return -0.5 * dim * np.log1p(-np.square(rho))


def sample_correlated_gaussians(n: int, rho: float, dim: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pairs (x, y), each [n, dim]: y = rho * x + sqrt(1 - rho^2) * noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    noise = torch.randn(n, dim, generator=g, dtype=torch.float64)
    return x, rho * x + math.sqrt(1.0 - rho * rho) * noise


def optimal_critic(rho: float):
    """f*(x, y) = log p(y|x) - log p(y), summed over coordinates. Called as ``f(x [b, d], ys [b, C, d])`` ->
    scores [b, C] (row i scores x_i against its C candidates), like :class:`BilinearCritic`."""
    s2 = 1.0 - rho * rho

    def f(x: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        diff = ys - rho * x[:, None, :]  # [b, C, d]
        return (-0.5 * diff.pow(2) / s2 + 0.5 * ys.pow(2) - 0.5 * math.log(s2)).sum(-1)

    return f


def infonce_estimate(x: torch.Tensor, y: torch.Tensor, critic, num_negatives: int) -> float:
    """log N - L_NCE with N = num_negatives + 1, averaged over the n pairs. Pair i's negatives are the ``K``
    next y's in the sample (cyclically), i.e. draws from the marginal p(y)."""
    n = x.shape[0]
    K = int(num_negatives)
    if not 1 <= K < n:
        raise ValueError(f"num_negatives must be in [1, {n - 1}] for {n} samples, got {K}")
    idx = (torch.arange(n)[:, None] + torch.arange(1, K + 1)[None, :]) % n  # [n, K]
    losses = []
    for lo in range(0, n, 512):  # chunks keep the [chunk, K, d] tensors small
        xb, ib = x[lo:lo + 512], idx[lo:lo + 512]
        cand = torch.cat([torch.arange(lo, lo + len(xb))[:, None], ib], dim=1)  # [b, 1 + K], column 0 positive
        scores = critic(xb, y[cand])  # [b, 1 + K]
        losses.append(infonce(scores[:, 0], scores[:, 1:]))  # Eq. 3
    return float(math.log(K + 1) - torch.cat(losses).mean())


class BilinearCritic(torch.nn.Module):
    """f(x, y) = x^T W y, the score form of S3-Rec's objectives (e.g. Eq. 10: e^T W h)."""

    def __init__(self, dim: int):
        super().__init__()
        self.W = torch.nn.Parameter(torch.zeros(dim, dim, dtype=torch.float64))

    def forward(self, x: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:  # x [b, d], ys [b, C, d] -> [b, C]
        return torch.einsum("bd,de,bce->bc", x, self.W, ys)


def fit_bilinear_critic(rho: float, dim: int = 1, num_negatives: int = 16, steps: int = 200, batch: int = 128,
                        lr: float = 0.05, seed: int = 0) -> BilinearCritic:
    """Learn W by minimising L_NCE (Eq. 3) on fresh samples, ``steps`` Adam steps."""
    torch.manual_seed(seed)
    with single_thread():
        return _fit(BilinearCritic(dim), rho, dim, num_negatives, steps, batch, lr, seed)


def _fit(critic, rho, dim, num_negatives, steps, batch, lr, seed):
    opt = torch.optim.Adam(critic.parameters(), lr=lr)
    K = num_negatives
    for step in range(steps):
        x, y = sample_correlated_gaussians(batch, rho, dim, seed=10_000 + seed * 1_000 + step)
        idx = (torch.arange(batch)[:, None] + torch.arange(0, K + 1)[None, :]) % batch  # column 0: the positive
        scores = critic(x, y[idx])
        loss = infonce(scores[:, 0], scores[:, 1:]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return critic.eval()


def infonce_sweep(rhos=(0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99), negatives=(1, 7, 63, 255), dim: int = 2,
                  n: int = 1024, seed: int = 0, learned: bool = False) -> dict:
    """InfoNCE estimates (optimal critic, or a learned bilinear one) for each correlation and number of
    negatives. Returns ``{"rho", "negatives", "true_mi", "estimate" [len(negatives), len(rhos)], "ceiling"}``."""
    rhos = np.asarray(rhos, dtype=float)
    est = np.zeros((len(negatives), len(rhos)))
    with torch.no_grad(), single_thread():
        for j, rho in enumerate(rhos):
            x, y = sample_correlated_gaussians(n, float(rho), dim, seed=seed)
            for i, K in enumerate(negatives):
                if learned:
                    with torch.enable_grad():
                        critic = fit_bilinear_critic(float(rho), dim, num_negatives=min(K, 127), seed=seed)
                else:
                    critic = optimal_critic(float(rho))
                est[i, j] = infonce_estimate(x, y, critic, K)
    return {"rho": rhos, "negatives": list(negatives), "true_mi": true_mi(rhos, dim), "estimate": est,
            "ceiling": np.log(np.asarray(negatives, dtype=float) + 1.0), "dim": dim, "n": n,
            "critic": "bilinear (learned)" if learned else "optimal"}


def negatives_sweep(rho: float = 0.95, dim: int = 4, negatives=(1, 3, 7, 15, 31, 63, 127, 255, 511, 1023),
                    n: int = 1024, seeds=(0, 1, 2)) -> dict:
    """For one correlation: the estimate as the number of negatives grows, per seed (``estimates``
    [len(seeds), len(negatives)]) and its mean and standard deviation over the seeds."""
    est = np.zeros((len(seeds), len(negatives)))
    critic = optimal_critic(rho)
    with torch.no_grad(), single_thread():
        for s, seed in enumerate(seeds):
            x, y = sample_correlated_gaussians(n, rho, dim, seed=seed)
            for i, K in enumerate(negatives):
                est[s, i] = infonce_estimate(x, y, critic, K)
    return {"negatives": np.asarray(negatives), "estimates": est, "mean": est.mean(0), "std": est.std(0),
            "true_mi": float(true_mi(rho, dim)),
            "ceiling": np.log(np.asarray(negatives, dtype=float) + 1.0), "rho": rho, "dim": dim, "n": n}
