"""Drives the Prefect side of the side-by-side benchmark against a running server and runner.

Phases, in order, all through Prefect's own client (the API the UI and CLI use):
  latency     L runs of the one-task flow, one every INTERVAL seconds, each waited for: the
              scheduled time -> the flow's first act (stamp file), and the run's own duration
              (start_time -> end_time of its Running state) with nothing else running;
  throughput  N runs of the one-task flow created at once, timed from the first create to the
              last COMPLETED (the runner takes at most 4 at a time);
  tasks       R runs of the 40-task flow one after another, each's start_time -> end_time.
Prints one JSON object.
"""
import argparse
import asyncio
import json
import os
import statistics
import time

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def read_stamp(path, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            if text:
                return float(text)
        except FileNotFoundError:
            pass
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no stamp in {path} after {timeout} s")


async def wait_terminal(client, ids, timeout):
    """Polls until every run in ids is terminal; returns them by id."""
    deadline = time.time() + timeout
    done = {}
    while time.time() < deadline:
        pending = [i for i in ids if i not in done]
        for start in range(0, len(pending), 200):
            chunk = pending[start:start + 200]
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)), limit=200)
            for run in runs:
                if run.state_type and run.state_type.value in TERMINAL:
                    done[run.id] = run
        if len(done) == len(ids):
            bad = [r for r in done.values() if r.state_type.value != "COMPLETED"]
            if bad:
                raise RuntimeError(f"{len(bad)} runs ended {bad[0].state_type.value}: {bad[0].state.message}")
            return done
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{len(ids) - len(done)} of {len(ids)} runs not finished after {timeout} s")


def duration(run):
    return (run.end_time - run.start_time).total_seconds() * 1000


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stamp-dir", required=True)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    os.makedirs(args.stamp_dir, exist_ok=True)

    async with get_client() as client:
        one = await client.read_deployment_by_name("one-task/bench")
        forty = await client.read_deployment_by_name("forty-tasks/bench")

        async def create(deployment, file):
            run = await client.create_flow_run_from_deployment(deployment.id, parameters={"file": file})
            return run

        # One warm-up run: the runner is up and Python's caches are warm, as for fluxo.
        warm = await create(one, os.path.join(args.stamp_dir, "warmup"))
        await wait_terminal(client, [warm.id], args.timeout)

        latencies, single = [], []
        for i in range(args.latency_runs):
            file = os.path.join(args.stamp_dir, f"latency-{i}")
            run = await create(one, file)
            started = await read_stamp(file, args.timeout)
            latencies.append((started - run.expected_start_time.timestamp()) * 1000)
            finished = await wait_terminal(client, [run.id], args.timeout)
            single.append(duration(finished[run.id]))
            await asyncio.sleep(args.interval)

        t0 = time.time()
        ids = []
        for i in range(args.runs):
            ids.append((await create(one, os.path.join(args.stamp_dir, f"run-{i}"))).id)
        await wait_terminal(client, ids, args.timeout)
        seconds = time.time() - t0

        forty_durations = []
        for i in range(args.rounds):
            run = await create(forty, os.path.join(args.stamp_dir, f"forty-{i}"))
            finished = await wait_terminal(client, [run.id], args.timeout)
            forty_durations.append(duration(finished[run.id]))

    one_ms = statistics.median(single)
    forty_ms = statistics.median(forty_durations)
    print(json.dumps({
        "runs": args.runs,
        "runsPerSecond": args.runs / seconds,
        "latencyRuns": args.latency_runs,
        "scheduleToStartP50Ms": percentile(latencies, 50),
        "scheduleToStartP99Ms": percentile(latencies, 99),
        "oneTaskRunMs": one_ms,
        "fortyTaskRunMs": forty_ms,
        "perTaskMs": (forty_ms - one_ms) / 39,
        "fortyTaskRoundsMs": forty_durations,
    }))


if __name__ == "__main__":
    asyncio.run(main())
