"""The voice bridge image: what ECS and Twilio rely on, read from the Dockerfile itself."""

from __future__ import annotations

import re

from infra.cdk.settings import REPO_ROOT
from infra.cdk.voice_bridge import BUILD_CONTEXT_INCLUDE, DOCKERFILE, HEALTH_PATH, PORT

DOCKERFILE_TEXT = (REPO_ROOT / DOCKERFILE).read_text()


def _instructions(keyword: str) -> list[str]:
    return re.findall(rf"^{keyword}\s+(.+)$", DOCKERFILE_TEXT, flags=re.MULTILINE)


def test_the_image_is_python_312_slim_and_installs_the_project() -> None:
    assert all(base.startswith("python:3.12-slim") for base in _instructions("FROM"))
    assert any("pip install ." in run for run in _instructions("RUN"))


def test_the_bridge_runs_as_an_unprivileged_user() -> None:
    (user,) = _instructions("USER")
    assert not user.startswith(("root", "0"))


def test_the_bridge_listens_on_its_port_with_a_health_check() -> None:
    assert _instructions("EXPOSE") == [str(PORT)]
    assert f":{PORT}{HEALTH_PATH}" in DOCKERFILE_TEXT.split("HEALTHCHECK", 1)[1]
    assert _instructions("CMD")[-1] == '["python", "-m", "containers.voice_bridge"]'


def test_everything_the_image_copies_is_in_the_staged_build_context() -> None:
    for source in _instructions("COPY"):
        if source.startswith("--from"):
            continue
        for path in source.split()[:-1]:
            assert path.split("/")[0] in BUILD_CONTEXT_INCLUDE, path
