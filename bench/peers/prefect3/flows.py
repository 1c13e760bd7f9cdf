"""The Prefect side of the side-by-side workload: the same user code as bench/flows/prefect-peer.ts.

The first act of each flow writes the wall-clock instant it started (time.time(), the same
machine clock the driver reads), so schedule-to-start is measured from outside Prefect.
"""
import time

from prefect import flow, serve, task


@task
def answer() -> int:
    return 42


def _stamp(file: str) -> None:
    with open(file, "w") as out:
        out.write(repr(time.time()))


@flow(name="one-task")
def one_task(file: str) -> None:
    _stamp(file)
    answer()


@flow(name="forty-tasks")
def forty_tasks(file: str) -> None:
    _stamp(file)
    for _ in range(40):
        answer()


if __name__ == "__main__":
    # One runner for both deployments, at most 4 flow runs at once (each in its own subprocess),
    # polling every PREFECT_RUNNER_POLL_FREQUENCY seconds.
    serve(
        one_task.to_deployment(name="bench", parameters={"file": "/dev/null"}),
        forty_tasks.to_deployment(name="bench", parameters={"file": "/dev/null"}),
        limit=4,
    )
