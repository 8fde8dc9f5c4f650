"""Synthesize the CDK app once per session (synthesis takes seconds) and share the result.

- `prod`: the production shape — stage=prod with a certificate, every required setting, channel rates
  above the defaults — under cdk-nag, with secret-looking SENTINELS in the process environment.
- `dev`: stage=dev without a certificate (what `make synth` builds), under cdk-nag.

Both use a tiny stand-in for the Lambda code asset, so no test ever runs `make package` (pip).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.infra.synth import PROD_CONTEXT, SENTINELS, Synthesized, synthesize


@pytest.fixture(scope="session")
def lambda_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for build/lambda: the two directories the app insists on."""
    root = tmp_path_factory.mktemp("lambda-asset")
    for package in ("shared", "functions"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    return root


@pytest.fixture(scope="session")
def prod(lambda_asset: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    def build(outdir: Path) -> Synthesized:
        # The sentinels are in the environment only while synthesizing: other tests never see them.
        with pytest.MonkeyPatch.context() as patch:
            for key, value in SENTINELS.items():
                patch.setenv(key, value)
            return synthesize(PROD_CONTEXT, lambda_asset, outdir)

    return _once_per_run("prod", build, tmp_path_factory)


@pytest.fixture(scope="session")
def dev(lambda_asset: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _once_per_run(
        "dev", lambda outdir: synthesize({"stage": "dev"}, lambda_asset, outdir), tmp_path_factory
    )


def _once_per_run(
    name: str, build: Callable[[Path], Synthesized], tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    """Synthesize once per test run. Under pytest-xdist every worker has its own session, so the first
    worker to get here synthesizes and leaves the result beside the workers' temp dirs (that parent is
    new for each run); the others wait on the lock and read it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.mktemp(f"cdk-{name}"))
    shared = tmp_path_factory.getbasetemp().parent / "cdk-synth"
    shared.mkdir(exist_ok=True)
    result = shared / f"{name}.json"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if result.exists():
            return Synthesized.from_json(result.read_text())
        synthesized = build(shared / name)
        result.write_text(synthesized.to_json())
        return synthesized


@pytest.fixture(scope="session", params=["prod", "dev"])
def each_stage(request: pytest.FixtureRequest) -> Synthesized:
    synthesized: Synthesized = request.getfixturevalue(request.param)
    return synthesized
