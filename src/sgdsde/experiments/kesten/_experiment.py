"""The configuration and the runs of the Kesten-tails experiment."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from scipy import optimize

from ... import sgd
from ...dynamics import EulerMaruyama, OnlineLeastSquares, integrate
from ...kesten import finite_sum_tail_index, kesten_tail_index, variance_threshold_lr
from ...levy import symmetric_stable
from ...problems import LinearRegression
from ...tails import hill, pickands
from ..record import ExperimentConfig, Record, Timer, make_record, resolve_device


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """The setting of the Kesten-tails runs (CPU default; see ``PROFILES``).

    Parameters
    ----------
    seed : int; every draw derives from it (fixed offsets per part)
    chains : int; independent chains (the i.i.d. sample of the late iterate)
    steps : int; steps of every run (the iterates are read at ``steps`` and ``steps // 2``)
    lrs : tuple of float; η of the online runs, at ``batch_size`` and ``dim``
    batch_size, dim : int; B and d of the online runs
    k_frac : float; Hill uses the k = k_frac·chains largest |θ| (Pickands k/4)
    extra : tuple of (η, B, d); further online runs (other B, d)
    n_data : int; size of the fixed data set of the finite-sum contrast
    finite_bounded : float; its bounded run has η·max x_i² = finite_bounded (< 2)
    finite_alpha : float; its heavy run has the η at which the finite-sum α equals this
    levy_alpha : float; stability index of the Lévy-driven contrast
    levy_lrs : tuple of float; its step sizes
    noise_draws : int; fresh batches at a fixed θ for the conditional noise
    device : str

    Examples
    --------
    >>> Config(seed=3).k_frac
    0.01
    """

    seed: int = 0
    chains: int = 40_000
    steps: int = 160
    lrs: tuple = (0.5, 2 / 3, 0.85, 1.0, 1.25, 1.5)
    batch_size: int = 1
    dim: int = 1
    k_frac: float = 0.01
    extra: tuple = ()
    n_data: int = 40
    finite_bounded: float = 1.8
    finite_alpha: float = 1.5
    levy_alpha: float = 1.3
    levy_lrs: tuple = (0.1, 0.5)
    noise_draws: int = 40_000
    device: str = "cpu"

    def __post_init__(self):
        for name in ("chains", "steps", "batch_size", "dim", "n_data", "noise_draws"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int ≥ 1; got {v!r}")
        if not 0 < self.k_frac <= 0.25:
            raise ValueError(f"k_frac must be in (0, 0.25]; got {self.k_frac!r}")
        if int(self.k_frac * self.chains) < 8:
            raise ValueError(
                f"k_frac·chains = {self.k_frac * self.chains:g} < 8 order statistics: too few "
                "samples for the tail estimators; raise chains"
            )
        if not 0 < self.levy_alpha < 2:
            raise ValueError(f"levy_alpha must be in (0, 2); got {self.levy_alpha!r}")


#: named scale profiles: the CI default and a larger GPU run (more chains, longer, other B and d)
PROFILES: dict[str, Config] = {
    "ci": Config(),
    "gpu": Config(
        chains=2_000_000,
        steps=600,
        lrs=(0.3, 0.4, 0.5, 2 / 3, 0.85, 1.0, 1.25, 1.5),
        extra=((0.5, 4, 1), (4 / 3, 4, 1), (2.0, 4, 1), (0.25, 1, 4), (1 / 3, 1, 4), (0.6, 2, 4)),
        k_frac=0.002,  # Hill's bias does not shrink with more chains at a fixed k/K
        noise_draws=1_000_000,
        device="cuda",
    ),
}
Config.PROFILES = PROFILES


#: levels t at which the fixed-θ noise's exceedances P(|ξ| > t) are counted
NOISE_LEVELS = (6.0, 10.0, 14.0)


def _estimates(x: torch.Tensor, k: int) -> dict:
    h, hse = hill(x, k)
    xi, xse = pickands(x, max(1, k // 4))
    return {"hill": h, "hill_se": hse, "pickands_xi": xi, "pickands_xi_se": xse}


def _online(cfg: Config, lr: float, B: int, d: int, seed: int, dev) -> dict:
    """One online run: α from the equation, Hill/Pickands of θ[:, 0] at steps//2 and steps,
    and the gradient noise at the final iterates (one fresh batch each) and at a fixed θ."""
    k = int(cfg.k_frac * cfg.chains)
    st = OnlineLeastSquares(lr, B)
    x0 = torch.zeros(d, dtype=torch.float64, device=dev)
    path = integrate(st, x0, cfg.steps, chains=cfg.chains, seed=seed, save_every=cfg.steps // 2)
    th = path.x[-1]
    gen = torch.Generator(device=dev).manual_seed(seed + 1)
    z = torch.randn((cfg.chains, B, d + 1), generator=gen, dtype=th.dtype, device=dev)
    xi_run = st.noise(th, z)[:, 0]  # noise along the run: at the chains' own θ
    th_fix = torch.zeros(d, dtype=th.dtype, device=dev)
    th_fix[0] = 1.0  # a fixed θ with |θ| = 1 (the iterates' scale)
    z = torch.randn((cfg.noise_draws, B, d + 1), generator=gen, dtype=th.dtype, device=dev)
    xi_fix = st.noise(th_fix.expand(cfg.noise_draws, d), z)[:, 0]
    kn = int(cfg.k_frac * cfg.noise_draws)
    out = {
        "lr": lr,
        "batch_size": B,
        "dim": d,
        "k": k,
        "alpha": kesten_tail_index(lr, B, d),
        "half": _estimates(path.x[1][:, 0], k),
        "final": _estimates(th[:, 0], k),
        "noise_run": _estimates(xi_run, k),
        "noise_fixed": _estimates(xi_fix, kn),
        "diverged": int(path.diverged.sum()),
    }
    m2 = xi_fix.double() ** 2  # E ξ² at the fixed θ, and exceedances of the levels
    out["noise_fixed_m2"] = float(m2.mean())
    out["noise_fixed_m2_se"] = float(m2.std() / math.sqrt(cfg.noise_draws))
    out["noise_fixed_levels"] = list(NOISE_LEVELS)
    out["noise_fixed_exceed"] = [int((xi_fix.abs() > t).sum()) for t in NOISE_LEVELS]
    out["noise_draws"] = cfg.noise_draws
    return out


def _finite_sum(cfg: Config, seed: int, dev) -> dict:
    """SGD (B = 1, with replacement) on a fixed 1-D data set: a bounded and a heavy-tailed η."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn((cfg.n_data, 1), generator=g, dtype=torch.float64)
    y = X[:, 0] + torch.randn(cfg.n_data, generator=g, dtype=torch.float64)
    theta_hat = float((X[:, 0] @ y) / (X[:, 0] @ X[:, 0]))
    r = y - X[:, 0] * theta_hat
    x2max = float((X[:, 0] ** 2).max())
    prob = LinearRegression(X.to(dev), y.to(dev))
    xs = X[:, 0].numpy()
    runs: list[dict] = []
    out = {"x2max": x2max, "theta_hat": theta_hat, "runs": runs}
    for j, lr in enumerate((cfg.finite_bounded / x2max, _finite_lr(xs, cfg.finite_alpha))):
        a = (1 - lr * X[:, 0] ** 2).abs()
        a_max = float(a.max())
        b_max = float((lr * X[:, 0] * r).abs().max())
        # |θ − θ̂| ≤ M ⇒ |A_i(θ − θ̂) + b_i| ≤ M for all i iff M ≥ |b_i|/(1 − |A_i|): an invariant
        m_inv = float(((lr * X[:, 0] * r).abs() / (1 - a)).max()) if a_max < 1 else math.inf
        tr = sgd.run(
            prob,
            torch.full((1,), theta_hat, dtype=torch.float64, device=dev),
            lr,
            1,
            cfg.steps,
            chains=cfg.chains,
            seed=seed + 1 + j,
            record_every=cfg.steps,
            record_loss=False,
        )
        e = (tr.final[:, 0] - theta_hat).cpu()
        run = {
            "lr": lr,
            "lr_x2max": lr * x2max,
            "a_max": a_max,
            "b_max": b_max,
            "bound": m_inv,
            "max_abs": float(e.abs().max()),
            "alpha_finite": finite_sum_tail_index(xs, lr),
            "alpha_online": kesten_tail_index(lr, 1, 1),
        }
        if math.isfinite(run["alpha_finite"]):
            run |= _estimates(e, int(cfg.k_frac * cfg.chains))
        runs.append(run)
    return out


def _finite_lr(xs, target: float) -> float:
    """The η at which the finite-sum tail index (B = 1) equals ``target``."""
    lo = 2.0 / float((xs**2).max())

    def f(lr):
        try:
            return finite_sum_tail_index(xs, lr) - target
        except ValueError:  # beyond the stationarity edge: α → 0 there
            return -target

    hi = lo
    while f(hi) > 0:
        hi *= 1.05
    return float(optimize.brentq(f, hi / 1.05, hi, xtol=1e-12))


def _levy(cfg: Config, seed: int, dev) -> list:
    """Euler for dθ = −θ dt + dL^α (the §4 picture): iterates and increments, per η."""
    out = []
    k = int(cfg.k_frac * cfg.chains)
    for j, lr in enumerate(cfg.levy_lrs):
        em = EulerMaruyama(lambda x: -x, 1.0, lr, noise="alpha_stable", alpha=cfg.levy_alpha)
        x0 = torch.zeros(1, dtype=torch.float64, device=dev)
        path = integrate(em, x0, cfg.steps, chains=cfg.chains, seed=seed + j, save_every=cfg.steps)
        gen = torch.Generator().manual_seed(seed + 100 + j)
        inc = lr ** (1 / cfg.levy_alpha) * symmetric_stable(
            cfg.levy_alpha, (cfg.chains,), generator=gen
        )
        out.append(
            {
                "lr": lr,
                "iterates": _estimates(path.x[-1][:, 0], k),
                "increments": _estimates(inc, k),
            }
        )
    return out


def run(config: Config, *, device=None, progress: bool | None = None) -> Record:
    """Every part of the experiment; ``results`` holds ``online`` (one dict per η of ``lrs``
    then of ``extra``), ``finite_sum``, ``levy`` and ``threshold_lr`` (η where α = 2).

    Examples
    --------
    >>> rec = run(Config(chains=2000, steps=40, lrs=(1.0,), levy_lrs=(0.5,), noise_draws=2000))
    >>> r = rec.results["online"][0]
    >>> round(r["alpha"], 3), r["k"]
    (1.091, 20)
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a kesten.Config; got {type(config).__name__}")
    if device is not None:
        config = config.replace(device=str(resolve_device(device)))
    dev = resolve_device(config.device)
    B, d, s = config.batch_size, config.dim, config.seed
    with Timer(dev) as t:
        online = [_online(config, lr, B, d, s + 10 * i, dev) for i, lr in enumerate(config.lrs)]
        online += [
            _online(config, lr, b, dd, s + 1000 + 10 * i, dev)
            for i, (lr, b, dd) in enumerate(config.extra)
        ]
        results = {
            "online": online,
            "threshold_lr": variance_threshold_lr(B, d),
            "finite_sum": _finite_sum(config, s + 5000, dev),
            "levy": _levy(config, s + 6000, dev),
        }
    return make_record("kesten", config, results, dev, t.seconds)
