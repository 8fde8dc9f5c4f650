"""The direction of imports (README, "Architecture") is checked, not only intended: import-linter runs
the contracts of pyproject.toml's `[tool.importlinter]` over the product packages.

A second check plants one deliberate violation per contract in a copy of the tree and expects every
contract to report it, so a contract that can no longer fail (a renamed package, a typo in a module
name, a contract left without a planted violation) fails here instead of passing silently."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("shared", "functions", "containers", "infra")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# Per contract id: modules written into the copy, each importing what that contract forbids.
PLANTED = {
    "layers": {
        "shared/domain/planted_violation.py": "import shared.engine",
        "shared/data/planted_violation.py": "import shared.assistant",
        "shared/adapters/planted_violation.py": "import shared.data",
    },
    "workers": {"functions/dialer/planted_violation.py": "import functions.scheduler"},
    "infra": {
        "shared/core/planted_violation.py": "import infra.local",
        "containers/voice_bridge/planted_infra.py": "import infra.local",
    },
    "handlers": {
        "functions/api/routes/planted_violation.py": "import shared.data",
        "containers/voice_bridge/planted_violation.py": "import shared.data.messages",
    },
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the packages under `root`, with the contracts of `root/pyproject.toml`."""
    env = os.environ | {"PYTHONPATH": str(root), "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def verdicts(output: str) -> dict[str, str]:
    """Contract name -> KEPT / BROKEN, from the summary lines of a run."""
    return dict(re.findall(r"^(.+?) (KEPT|BROKEN)$", output, flags=re.MULTILINE))


def contracts() -> list[dict[str, str]]:
    return read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]


def test_every_import_follows_the_contracts():
    result = lint_imports(ROOT)
    found = verdicts(result.stdout)
    broken = sorted(name for name, verdict in found.items() if verdict == "BROKEN")
    assert result.returncode == 0 and not broken, (
        f"broken import contracts: {broken}\n{result.stdout}{result.stderr}"
    )
    assert sorted(found) == sorted(contract["name"] for contract in contracts())


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The output of `lint-imports` over a copy of the tree holding every planted violation."""
    copy = tmp_path_factory.mktemp("planted")
    keep_python = shutil.ignore_patterns("node_modules", "__pycache__", "cdk.out", "static", "*.json")
    for package in PRODUCT_PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=keep_python)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for modules in PLANTED.values():
        for path, line in modules.items():
            (copy / path).write_text(f"{line}\n")
    result = lint_imports(copy)
    assert result.returncode != 0, result.stdout + result.stderr
    return result.stdout


def test_every_contract_has_a_planted_violation():
    assert sorted(contract["id"] for contract in contracts()) == sorted(PLANTED)


@pytest.mark.parametrize("contract", contracts(), ids=lambda contract: contract["id"])
def test_each_contract_catches_its_planted_violation(planted_run: str, contract: dict[str, str]):
    assert verdicts(planted_run).get(contract["name"]) == "BROKEN", planted_run
    for path, line in PLANTED[contract["id"]].items():
        importer = path.removesuffix(".py").replace("/", ".")
        imported = line.removeprefix("import ")
        assert f"{importer} -> {imported} (l.1)" in planted_run, planted_run
