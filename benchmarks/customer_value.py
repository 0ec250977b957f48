"""Customer value at scale: both models fitted and every customer scored, timed.

    python -m benchmarks.customer_value [--customers 1000000] [--horizon 39]

Customers are drawn from the CDNOW estimates (weeks; tests/support.py), observed
for 1 to 78 weeks. Prints the timings; writes nothing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.machine import describe
from rfm_segmentation.customer_value import (
    expected_value,
    fit_bg_nbd,
    fit_gamma_gamma,
)
from tests.support import simulate_customers

BG_NBD = (0.243, 4.414, 0.793, 2.426)  # Fader, Hardie & Lee (2005), CDNOW
GAMMA_GAMMA = (6.25, 3.74, 15.44)  # Fader & Hardie, the Gamma-Gamma note, CDNOW
GOAL_SECONDS = 10.0  # 1M customers, fit and score, on the project's 2-core machine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--horizon", type=float, default=39.0)
    args = parser.parse_args(argv)

    T = np.random.default_rng(0).uniform(1, 78, args.customers)
    c = simulate_customers(BG_NBD, GAMMA_GAMMA, T, seed=1)
    print(f"Machine: {describe(['numpy', 'scipy'])}")
    print(f"{args.customers:,} customers, {(c.x > 0).mean():.0%} repeat buyers")

    started = time.perf_counter()
    bg_nbd = fit_bg_nbd(c.x, c.t_x, c.T)
    fitted_bg_nbd = time.perf_counter()
    gamma_gamma = fit_gamma_gamma(c.x, c.m_x)
    fitted_gamma_gamma = time.perf_counter()
    bg_nbd.p_alive(c.x, c.t_x, c.T)
    expected_value(
        bg_nbd, gamma_gamma, args.horizon, x=c.x, t_x=c.t_x, T=c.T, m_x=c.m_x
    )
    scored = time.perf_counter()

    total = scored - started
    print(f"BG/NBD fit       {fitted_bg_nbd - started:6.2f} s")
    print(f"Gamma-Gamma fit  {fitted_gamma_gamma - fitted_bg_nbd:6.2f} s")
    print(f"scores           {scored - fitted_gamma_gamma:6.2f} s")
    met = "met" if total <= GOAL_SECONDS else "not met"
    print(f"total            {total:6.2f} s (goal <= {GOAL_SECONDS:.0f} s: {met})")


if __name__ == "__main__":
    main()
