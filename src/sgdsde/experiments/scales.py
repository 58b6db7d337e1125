"""Scale profiles of the chapters that run no registered experiment (the foundations, §1–§2).

Each class holds the sample sizes of one chapter; its ``PROFILES`` are ``ci`` (the book's CPU
run, the values the page had) and ``gpu`` (the larger run once documented as a comment in the
page). A page reads ``scales.<Class>.profile(PROFILE)`` with ``PROFILE = page_profile("ci")``;
``make chapter NAME=<chapter> PROFILE=gpu DEVICE=cuda`` runs it at the larger scale and records it.

Examples
--------
>>> SetupScale.profile("ci").n_mc, SetupScale.profile("gpu").n_mc
(20000, 2000000)
>>> sorted(HelmholtzScale.PROFILES)
['ci', 'gpu']
"""

from __future__ import annotations

from dataclasses import dataclass

from .record import ExperimentConfig

__all__ = [
    "SetupScale",
    "GradientNoiseScale",
    "NoiseCovarianceScale",
    "SDELimitScale",
    "CLTScale",
    "StationaryScale",
    "HelmholtzScale",
]


@dataclass(frozen=True)
class SetupScale(ExperimentConfig):
    """``02_setup``: Monte Carlo batches per check, data sets drawn from P, SGD chains of the
    learning-rate experiment, digits images of the MLP.

    Examples
    --------
    >>> SetupScale.profile("gpu").mlp_n
    1797
    """

    n_mc: int = 20_000
    n_datasets: int = 2_000
    chains: int = 400
    mlp_n: int = 256


SetupScale.PROFILES = {
    "ci": SetupScale(),
    "gpu": SetupScale(n_mc=2_000_000, n_datasets=200_000, chains=100_000, mlp_n=1797),
}


@dataclass(frozen=True)
class GradientNoiseScale(ExperimentConfig):
    """``03_gradient_noise``: Monte Carlo batches or data sets per check, data sets of the
    one-model checks, minibatches per batch size of the network, its images, copies of the
    §1.8.5 estimator.

    Examples
    --------
    >>> GradientNoiseScale.profile("ci").n_est
    20000
    """

    n_mc: int = 8_000
    n_datasets: int = 1_500
    n_mlp: int = 500
    mlp_n: int = 256
    n_est: int = 20_000


GradientNoiseScale.PROFILES = {
    "ci": GradientNoiseScale(),
    "gpu": GradientNoiseScale(
        n_mc=1_000_000, n_datasets=100_000, n_mlp=100_000, mlp_n=1797, n_est=10_000_000
    ),
}


@dataclass(frozen=True)
class NoiseCovarianceScale(ExperimentConfig):
    """``04_noise_covariance``: Monte Carlo index pairs per check, digits images.

    Examples
    --------
    >>> NoiseCovarianceScale.profile("gpu").n_mc
    100000000
    """

    n_mc: int = 1_000_000
    mlp_n: int = 256


NoiseCovarianceScale.PROFILES = {
    "ci": NoiseCovarianceScale(),
    "gpu": NoiseCovarianceScale(n_mc=100_000_000, mlp_n=1797),
}


@dataclass(frozen=True)
class SDELimitScale(ExperimentConfig):
    """``05_sde_limit``: chains of the noise checks and of the linear model, SGD and SDE chains
    on the non-linear model, its step sizes and the Euler–Maruyama substeps per SGD step.

    Examples
    --------
    >>> SDELimitScale.profile("gpu").nl_etas
    (0.2, 0.1, 0.05, 0.025)
    """

    chk_chains: int = 20_000
    lin_chains: int = 4_000
    nl_sgd_chains: int = 200_000
    nl_sde_chains: int = 32_000
    nl_etas: tuple = (0.4, 0.2, 0.1)
    nl_substeps: int = 4


SDELimitScale.PROFILES = {
    "ci": SDELimitScale(),
    "gpu": SDELimitScale(
        chk_chains=400_000,
        lin_chains=200_000,
        nl_sgd_chains=2_000_000,
        nl_sde_chains=200_000,
        nl_etas=(0.2, 0.1, 0.05, 0.025),
        nl_substeps=16,
    ),
}


@dataclass(frozen=True)
class CLTScale(ExperimentConfig):
    """``06_clt``: minibatch draws for B = 1, data sets per n and the sizes n of the growth
    study, chains of the covariance checks.

    Examples
    --------
    >>> CLTScale.profile("gpu").n_growth[-1]
    262144
    """

    m_draws: int = 100_000
    r_replicates: int = 64
    n_growth: tuple = (64, 512, 4096, 32768)
    mc_chains: int = 40_000


CLTScale.PROFILES = {
    "ci": CLTScale(),
    "gpu": CLTScale(
        m_draws=2_000_000,
        r_replicates=1024,
        n_growth=(64, 512, 4096, 32768, 262144),
        mc_chains=400_000,
    ),
}


@dataclass(frozen=True)
class StationaryScale(ExperimentConfig):
    """``07_stationary``: chains per check (and for the one-dimensional examples), SGD steps on
    the double well and with state-dependent noise. SGD is compared with the continuous-time law,
    so its O(η) bias must stay below the standard error: ``gpu`` shrinks η as 1/√chains.

    Examples
    --------
    >>> StationaryScale.profile("gpu").eta_dw
    0.001
    """

    chains: int = 10_000
    chains_1d: int = 20_000
    eta_dw: float = 0.01
    eta_r: float = 0.02


StationaryScale.PROFILES = {
    "ci": StationaryScale(),
    "gpu": StationaryScale(chains=1_000_000, chains_1d=2_000_000, eta_dw=0.001, eta_r=0.002),
}


@dataclass(frozen=True)
class HelmholtzScale(ExperimentConfig):
    """``08_helmholtz``: SGD chains of the circulation test.

    Examples
    --------
    >>> HelmholtzScale.profile("gpu").chains
    1000000
    """

    chains: int = 10_000


HelmholtzScale.PROFILES = {"ci": HelmholtzScale(), "gpu": HelmholtzScale(chains=1_000_000)}
