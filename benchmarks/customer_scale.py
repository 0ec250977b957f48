"""`kedro run` end to end by number of customers, beside a straight reference doing
the essential work. Writes docs/benchmarks-customers.md (docs/benchmarks.md quotes it).

    python -m benchmarks.customer_scale [--customers 100000 1000000 10000000]

Inputs are shops of that many customers (2 orders of 1.6 lines each on average,
~4.4 lines a customer with guests and quirks: the UCI CSV format), generated once
and cached in .cache/bench/. Each measurement runs in its own process: `kedro run`
(every pipeline) in a throwaway project copy, the wall time and peak RSS of every
node recorded by a hook, and the reference (Polars read and aggregate, one K-Means
fit with ``n_init=1``, predict, write a CSV). A child whose RSS passes
``--memory-limit-gib`` is stopped and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks import api_scale
from benchmarks.customer_run import NODE_LOG, read_node_log
from benchmarks.machine import describe
from rfm_segmentation.synthetic_data import generate_customers, spilled

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
REPORT = ROOT / "docs" / "benchmarks-customers.md"
START, END = "2010-12-01", "2011-12-09"
ORDERS_PER_CUSTOMER, LINES_PER_ORDER = 2, 1.6
GOAL_RATIO, GOAL_RATIO_CUSTOMERS = 4.0, 1_000_000
GOAL_ARI = 0.98  # the sampled fit against a full fit, at GOAL_RATIO_CUSTOMERS
GOAL_PEAK_GIB, GOAL_PEAK_CUSTOMERS = 8.0, 10_000_000
# the API on the release of GOAL_PEAK_CUSTOMERS customers
GOAL_READY_SECONDS, GOAL_WORKER_MIB, GOAL_LOOKUP_P99_MS, GOAL_MIGRATIONS_MS = (
    3,
    400,
    10,
    20,
)
TOP_NODES = 6
KIB_PER_GIB = 1024**2


@dataclass
class Measurement:
    """One child's result: seconds and peak RSS, or why it did not finish."""

    seconds: float | None = None
    peak_rss_gib: float | None = None
    failure: str | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    sampled_fit_ari: float | None = None  # the run's sampled fit against a full fit
    others_cores: float | None = None  # the machine's other work meanwhile
    api: api_scale.ApiScale | str | None = (
        None  # the API on the run's release, or why not
    )


@dataclass
class Size:
    customers: int
    lines: int
    run: Measurement
    reference: Measurement

    @property
    def ratio(self) -> float | None:
        if self.run.seconds is None or self.reference.seconds is None:
            return None
        return self.run.seconds / self.reference.seconds


def input_file(customers: int) -> Path:
    """The generated shop of ``customers`` customers as a UCI-format CSV, cached."""
    path = CACHE / f"customers_{customers}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.csv")
        shards = generate_customers(
            customers,
            seed=1,
            start=START,
            end=END,
            orders_per_customer=ORDERS_PER_CUSTOMER,
            lines_per_order=LINES_PER_ORDER,
        )
        with spilled(shards) as transactions:
            transactions.sink_csv(partial)
        partial.rename(path)
    return path


def measure(
    kind: str, path: Path, memory_limit_gib: float, api_seconds: float = 10
) -> Measurement:
    """``benchmarks.customer_run kind`` on ``path`` in a fresh process, stopped if
    its resident memory passes ``memory_limit_gib``; after a `kedro run`, the API on
    its release (``api_seconds`` of load per endpoint)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=f"{kind}-") as workdir:
        result, log = Path(workdir) / "result.json", Path(workdir) / "stderr.txt"
        with log.open("w") as stderr:
            child = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "benchmarks.customer_run", kind, str(path)),
                    *(workdir, str(result)),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={
                    **os.environ,
                    "KEDRO_DISABLE_TELEMETRY": "true",
                    "DO_NOT_TRACK": "1",
                },
            )
            over_limit, others_cores, seconds = _watch(child, memory_limit_gib)
        nodes, running = read_node_log(Path(workdir) / NODE_LOG)
        if over_limit:
            where = f" in `{running}`" if running else ""
            return Measurement(
                failure=f"stopped above {memory_limit_gib:g} GiB RSS{where} "
                f"after {seconds:.0f} s",
                nodes=nodes,
                others_cores=others_cores,
            )
        if child.returncode != 0:
            last = log.read_text().strip().splitlines()[-1:] or [""]
            return Measurement(failure=f"failed ({child.returncode}): {last[0][:120]}")
        data = json.loads(result.read_text())
        api = None
        if kind == "kedro":
            api = _api_on(Path(workdir) / "project", api_seconds)
    return Measurement(
        data["seconds"],
        data["peak_rss_kb"] / KIB_PER_GIB,
        nodes=nodes,
        sampled_fit_ari=data.get("sampled_fit_ari"),
        others_cores=others_cores,
        api=api,
    )


def _api_on(project: Path, seconds: float) -> api_scale.ApiScale | str:
    """The API measured on the run's release, or why it could not be."""
    try:
        return api_scale.measure(project, seconds)
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return f"not measured: {error}"


def _watch(
    child: subprocess.Popen, memory_limit_gib: float
) -> tuple[bool, float, float]:
    """Wait for ``child``: whether it was stopped for passing the memory limit, how
    many cores other processes kept busy meanwhile, on average (the machine is
    shared: the times mean little when this is high), and the seconds it ran."""
    started, busy_before, child_cpu = time.perf_counter(), _busy_seconds(), 0.0
    over_limit = False
    while child.poll() is None:
        child_cpu = max(child_cpu, _cpu_seconds(child.pid))
        if _rss_kb(child.pid) > memory_limit_gib * KIB_PER_GIB:
            child.send_signal(signal.SIGKILL)
            over_limit = True
            break
        time.sleep(0.2)
    others = _busy_seconds() - busy_before - child_cpu
    child.wait()
    seconds = time.perf_counter() - started
    return over_limit, max(0.0, others / seconds), seconds


def _busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """CPU seconds the process ``pid`` (all its threads) has used, 0 once gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(
                (int(line.split()[1]) for line in status if line.startswith("VmRSS")),
                0,
            )
    except OSError:  # finished meanwhile
        return 0


def _lines(path: Path) -> int:
    return pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(sizes: list[Size]) -> str:
    """The customer-scale section: one row per size, the goals, then each size's
    slowest nodes."""
    table = [
        "| customers | lines | `kedro run` s | peak RSS GiB | reference s | "
        "reference peak GiB | run / reference | sampled fit ARI | "
        "other work, cores (run; reference) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in sizes:
        run = s.run.failure or _cell(s.run.seconds)
        table.append(
            f"| {s.customers:,} | {s.lines:,} | {run} | {_cell(s.run.peak_rss_gib, 2)} | "
            f"{s.reference.failure or _cell(s.reference.seconds)} | "
            f"{_cell(s.reference.peak_rss_gib, 2)} | "
            f"{'-' if s.ratio is None else f'{s.ratio:.1f}x'} | "
            f"{_cell(s.run.sampled_fit_ari, 3)} | {_cell(s.run.others_cores)}; {_cell(s.reference.others_cores)} |"
        )
    lines = [
        "## Customer scale",
        "",
        "Written by `make bench` (alone: `make bench-customers`; both run",
        "`python -m benchmarks.customer_scale`); do not edit by hand.",
        "",
        f"Machine: {describe(['polars', 'scikit-learn', 'kedro'])}.",
        "",
        f"Shops of that many customers making {ORDERS_PER_CUSTOMER} orders of "
        f"{LINES_PER_ORDER} lines on",
        "average (`generate_customers`; UCI CSV format, with guests, cancellations and",
        "the other quirks). `kedro run` is every pipeline in a throwaway project copy,",
        "in its own process; the reference, in another, does the essential work",
        "straight: Polars read and aggregate (recency, distinct invoices, spend, after",
        "missing ids, cancellations and non-positive quantities and prices), one",
        "scikit-learn K-Means fit (`n_init=1`, k=4) on the log1p-standardised RFM of",
        "every customer, predict, a CSV of customer -> label. Above",
        "`clustering.fit_sample_size` customers the run fits its model on a seeded",
        "sample; the ARI column is the adjusted Rand index of its labels against a",
        "fit on every customer (computed after the run, not timed; - where the run",
        "fitted on every customer). Seconds are inside each",
        "process, after its imports; peak RSS is its VmHWM. One run each, on a",
        "shared 2-core machine: the last column is the CPU other processes used",
        "meanwhile, in cores on average (above ~0.3 the times are inflated).",
        "",
        *table,
        "",
        *_goals(sizes),
        "",
        "### The API on each release",
        "",
        "`benchmarks.api_scale` on the release each run published: one worker",
        "(`python -m rfm_segmentation.api`) started from nothing; seconds until",
        "`/ready` first answers 200 (imports, the catalog, checking the files",
        "against the manifest, mapping the tables); then, with",
        f"{_load_generators(sizes)}, {api_scale.IDS:,} random customers in turn at 32",
        "connections for some seconds each (`--api-seconds`, 10 by default), each",
        f"load after {api_scale.WARMUP_SECONDS} s of the same load unmeasured (the",
        "worker's first seconds, when the pages of the mapped tables are touched",
        "for the first time, are reported apart), and",
        f"the slowest of {api_scale.MIGRATION_CALLS} `GET /api/v1/migrations` in",
        "turn. The worker's",
        "memory is its own (anonymous) resident memory after the loads, and beside",
        "it the pages of the memory-mapped release files it touched: those are the",
        "page cache, shared by every worker and reclaimed by the kernel under",
        "pressure.",
        "",
        *_api_table(sizes),
        "",
        *_api_goals(sizes),
        "",
        "### Where the time goes",
        "",
        "Each node from the load of its first input to its outputs saved, with its",
        "own peak RSS (VmHWM reset before every node through /proc/self/clear_refs).",
        "The slowest nodes at each size:",
        "",
    ]
    for s in sizes:
        if s.run.nodes:
            lines += [*_slowest_nodes(s), ""]
    return "\n".join(lines)


def _goals(sizes: list[Size]) -> list[str]:
    by_customers = {s.customers: s for s in sizes}
    sentences = []
    ratio_size = by_customers.get(GOAL_RATIO_CUSTOMERS)
    if ratio_size and ratio_size.ratio is not None:
        met = "met" if ratio_size.ratio <= GOAL_RATIO else "not met"
        sentences.append(
            f"- {GOAL_RATIO_CUSTOMERS:,} customers end to end <= {GOAL_RATIO:g}x the "
            f"reference: measured {ratio_size.ratio:.1f}x ({met})."
        )
    if ratio_size and ratio_size.run.sampled_fit_ari is not None:
        ari = ratio_size.run.sampled_fit_ari
        sentences.append(
            f"- Sampled fit against a full fit at {GOAL_RATIO_CUSTOMERS:,} customers: "
            f"adjusted Rand index >= {GOAL_ARI:g}: measured {ari:.3f} "
            f"({'met' if ari >= GOAL_ARI else 'not met'})."
        )
    peak_size = by_customers.get(GOAL_PEAK_CUSTOMERS)
    if peak_size is None:
        sentences.append(
            f"- {GOAL_PEAK_CUSTOMERS:,} customers complete within {GOAL_PEAK_GIB:g} GiB "
            "peak: not measured in this run."
        )
    else:
        run = peak_size.run
        met = run.peak_rss_gib is not None and run.peak_rss_gib <= GOAL_PEAK_GIB
        measured = run.failure or f"{run.seconds:.0f} s, {run.peak_rss_gib:.2f} GiB"
        sentences.append(
            f"- {GOAL_PEAK_CUSTOMERS:,} customers complete within {GOAL_PEAK_GIB:g} GiB "
            f"peak: {measured} ({'met' if met else 'not met'})."
        )
    return sentences


def _api_table(sizes: list[Size]) -> list[str]:
    rows = [
        "| customers | ready s | worker MiB (own; mapped files) | "
        "`/customers/{id}` req/s | p50 ms | p99 ms | `.../history` req/s | p50 ms | "
        "p99 ms | `/migrations` slowest ms | `/health` req/s | p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in sizes:
        api = s.run.api
        if not isinstance(api, api_scale.ApiScale):
            rows.append(f"| {s.customers:,} | {api or 'no release'} |" + " - |" * 10)
            continue
        rows.append(
            f"| {s.customers:,} | {api.ready_seconds:.1f} | "
            f"{api.anonymous_mib:,.0f}; {api.mapped_files_mib:,.0f} | "
            + " | ".join(
                f"{r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f}"
                for r in (api.customer, api.history)
            )
            + f" | {api.migrations_ms:.1f} | {api.floor.rps:,.0f} | "
            f"{api.floor.p99_ms:.1f} |"
        )
    return rows


def _load_generators(sizes: list[Size]) -> str:
    used = {
        s.run.api.generator for s in sizes if isinstance(s.run.api, api_scale.ApiScale)
    }
    return " and ".join(sorted(used)) or "no load generator (no release measured)"


def _api_goals(sizes: list[Size]) -> list[str]:
    size = next((s for s in sizes if s.customers == GOAL_PEAK_CUSTOMERS), None)
    at = f"the API on {GOAL_PEAK_CUSTOMERS:,} customers"
    if size is None or not isinstance(size.run.api, api_scale.ApiScale):
        return [f"- {at}: not measured in this run."]
    api = size.run.api
    lookup_p99 = max(api.customer.p99_ms, api.history.p99_ms)
    goals = [
        ("ready", api.ready_seconds, GOAL_READY_SECONDS, "s"),
        ("worker's own memory", api.anonymous_mib, GOAL_WORKER_MIB, "MiB"),
        ("lookup and history p99", lookup_p99, GOAL_LOOKUP_P99_MS, "ms"),
        ("migrations", api.migrations_ms, GOAL_MIGRATIONS_MS, "ms"),
    ]
    return [
        f"- {at}, {name} <= {goal:g} {unit}: measured {value:,.1f} {unit} "
        f"({'met' if value <= goal else 'not met'})."
        for name, value, goal, unit in goals
    ] + [
        f"- The floor of any route on this machine: `/health`, which reads nothing, "
        f"answers {api.floor.rps:,.0f} req/s with a p99 of {api.floor.p99_ms:.1f} ms "
        "under the same load (one worker, the load generator on the same cores).",
        f"- The worker's first {api_scale.WARMUP_SECONDS} s of lookups after it "
        f"started: {api.cold.rps:,.0f} req/s, p99 {api.cold.p99_ms:.1f} ms.",
    ]


def _slowest_nodes(size: Size) -> list[str]:
    nodes = sorted(size.run.nodes, key=lambda n: n["seconds"], reverse=True)
    if size.run.seconds is None:
        total = sum(n["seconds"] for n in nodes)
        title = f"{size.run.failure}; the {len(nodes)} nodes before it ({total:.1f} s)"
    else:
        total = size.run.seconds
        title = f"{total:.1f} s, {len(nodes)} nodes"
    rows = [
        f"{size.customers:,} customers ({title}):",
        "",
        "| node | s | share | peak RSS GiB |",
        "| --- | --- | --- | --- |",
    ]
    for node in nodes[:TOP_NODES]:
        rows.append(
            f"| `{node['node']}` | {node['seconds']:.1f} | "
            f"{node['seconds'] / total:.0%} | {node['peak_rss_kb'] / KIB_PER_GIB:.2f} |"
        )
    rest = nodes[TOP_NODES:]
    if rest:
        seconds = sum(n["seconds"] for n in rest)
        rows.append(
            f"| the other {len(rest)} | {seconds:.1f} | {seconds / total:.0%} | "
            f"{max(n['peak_rss_kb'] for n in rest) / KIB_PER_GIB:.2f} |"
        )
    if size.run.seconds is not None:
        outside = total - sum(n["seconds"] for n in nodes)
        rows.append(
            f"| outside the nodes (session, catalog, hooks) | {outside:.1f} | "
            f"{outside / total:.0%} | - |"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000]
    )
    parser.add_argument(
        "--memory-limit-gib",
        type=float,
        default=12.0,
        help="stop a measurement whose RSS passes this (beyond the 8 GiB goal, short "
        "of squeezing the machine's other work)",
    )
    parser.add_argument(
        "--api-seconds", type=float, default=10.0, help="API load per endpoint"
    )
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)

    sizes = []
    for customers in args.customers:
        path = input_file(customers)
        size = Size(
            customers,
            _lines(path),
            measure("kedro", path, args.memory_limit_gib, args.api_seconds),
            measure("reference", path, args.memory_limit_gib),
        )
        print(
            f"{customers:>11,} customers {size.lines:>11,} lines: run "
            f"{size.run.failure or f'{size.run.seconds:.1f} s'} "
            f"{_cell(size.run.peak_rss_gib, 2)} GiB, reference "
            f"{size.reference.failure or f'{size.reference.seconds:.1f} s'} "
            f"{_cell(size.reference.peak_rss_gib, 2)} GiB, ratio "
            f"{'-' if size.ratio is None else f'{size.ratio:.1f}x'}",
            flush=True,
        )
        sizes.append(size)
    text = report(sizes)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
