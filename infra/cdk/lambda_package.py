"""`make package`: the one code asset every Lambda function runs (build/lambda by default).

    python -m infra.cdk.lambda_package [OUT_DIR]

The project's runtime dependencies are installed as Linux arm64 / CPython 3.12 wheels — what the
functions run on — whatever machine builds them, so no Docker is needed; then `shared/` and
`functions/` are copied beside them. `--only-binary` makes a dependency without such a wheel fail
here, loudly, instead of at the first invocation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from infra.cdk.settings import REPO_ROOT

PLATFORM = "manylinux2014_aarch64"  # Lambda arm64 (Amazon Linux 2023, glibc 2.34)
PYTHON_VERSION = "3.12"  # infra.cdk.functions.RUNTIME
CODE_PACKAGES = ("shared", "functions")
# Only serve the local sandbox or the voice bridge container: never imported on Lambda.
NOT_ON_LAMBDA = frozenset({"uvicorn"})


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's `[project].dependencies`, minus what Lambda never imports."""
    dependencies: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [req for req in dependencies if _name(req) not in NOT_ON_LAMBDA]


def build(out: Path) -> None:
    """Rebuild `out` from scratch: dependencies (wheels for the Lambda platform), then the code."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # Lambda compiles on first import; .pyc for another interpreter is useless
            "--platform",
            PLATFORM,
            "--only-binary=:all:",
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
            "--target",
            str(out),
            *runtime_requirements(),
        ],
        check=True,
    )
    # Console scripts of the dependencies, with this machine's interpreter in their shebang: dead weight.
    shutil.rmtree(out / "bin", ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in CODE_PACKAGES:
        shutil.copytree(REPO_ROOT / package, out / package, ignore=ignore)


def _name(requirement: str) -> str:
    for separator in "<>=!~;[ ":
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "build" / "lambda"
    build(out)
    # Lambda's limit is 250 MB unzipped for code and layers together.
    print(f"Lambda asset: {out} ({_size_mb(out):.1f} MB unzipped)")


if __name__ == "__main__":
    main()
