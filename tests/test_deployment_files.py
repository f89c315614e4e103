"""The deployment files (Dockerfile, docker-compose.yml, CI workflow) hold together.

No Docker CLI runs here, so docker-compose.yml is checked against the Compose
Specification's own JSON schema (vendored in tests/data, see its README), and
the rest by reading the files. No database is needed.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from eduplatform import runner
from eduplatform.queue import QUEUES

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

APP_SERVICES = ("web", "worker")
SHARED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DATA_DIR")
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|API_KEY)")
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")
WSGI_TARGET = re.compile(r"\b([A-Za-z_][\w.]*):([A-Za-z_]\w*)\b")


def load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml("docker-compose.yml")


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    return json.loads((DATA / "compose-spec.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # Join continuation lines so each instruction is one line.
    return (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return load_yaml(".github/workflows/ci.yml")


def instructions(dockerfile: str, keyword: str) -> list[str]:
    """Arguments of every `keyword` instruction of the Dockerfile's final stage."""
    final_stage = re.split(r"(?im)^FROM\s", dockerfile)[-1]
    pattern = rf"(?im)^{keyword}\s+(.+)$"
    return [match.strip() for match in re.findall(pattern, final_stage)]


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else " ".join(command)


def environment(service: dict) -> dict:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def schema_errors(document: dict, schema: dict) -> list[str]:
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    return [f"{'/'.join(map(str, error.path)) or '<root>'}: {error.message}" for error in errors]


# --- docker-compose.yml -------------------------------------------------------


def test_vendored_schema_is_a_valid_json_schema(compose_schema):
    validator_for(compose_schema, default=Draft202012Validator).check_schema(compose_schema)
    assert compose_schema["title"] == "Compose Specification"


def test_compose_file_follows_the_compose_specification(compose, compose_schema):
    assert schema_errors(compose, compose_schema) == []


def test_schema_rejects_an_unknown_service_key(compose, compose_schema):
    broken = json.loads(json.dumps(compose))
    broken["services"]["web"]["no_such_key"] = True
    assert schema_errors(broken, compose_schema)


def test_compose_file_has_no_obsolete_version_key(compose):
    assert "version" not in compose


def test_stack_has_its_four_services(compose):
    assert set(compose["services"]) >= {"db", "redis", "web", "worker"}


def test_every_build_uses_a_dockerfile_that_exists(compose):
    builds = {
        name: service["build"]
        for name, service in compose["services"].items()
        if "build" in service
    }
    assert set(builds) >= set(APP_SERVICES)
    for name, build in builds.items():
        if isinstance(build, str):
            build = {"context": build}
        context = ROOT / build.get("context", ".")
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name} builds from missing {dockerfile}"


def test_web_and_worker_run_the_same_image(compose):
    web, worker = (compose["services"][name] for name in APP_SERVICES)
    assert web.get("image") == worker.get("image")
    assert web.get("build") == worker.get("build")


def test_web_and_worker_share_the_service_settings(compose):
    web, worker = (environment(compose["services"][name]) for name in APP_SERVICES)
    for key in SHARED_SETTINGS:
        assert key in web, f"web lacks {key}"
        assert web[key] == worker.get(key), f"web and worker differ on {key}"


def test_app_reaches_the_compose_database_and_redis(compose):
    env = environment(compose["services"]["web"])
    assert re.fullmatch(r"postgres(ql)?://[^@]+@db:5432/\w+", env["DATABASE_URL"])
    assert re.fullmatch(r"redis://redis:6379/\d+", env["REDIS_URL"])
    assert env["DEBUG"] in ("0", "False", "false")


def test_secret_key_comes_from_the_environment(compose):
    for name in APP_SERVICES:
        value = environment(compose["services"][name])["DJANGO_SECRET_KEY"]
        assert re.fullmatch(r"\$\{DJANGO_SECRET_KEY:\?[^}]+\}", value), value


def test_no_secret_is_hard_coded(compose):
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and value:
                assert INTERPOLATION.match(str(value)), f"{name}.{key} is hard-coded"


def test_database_image_has_pgvector(compose):
    assert compose["services"]["db"]["image"].startswith("pgvector/pgvector:")


def test_backing_services_have_health_checks(compose):
    db_check = command_text(compose["services"]["db"]["healthcheck"]["test"])
    redis_check = command_text(compose["services"]["redis"]["healthcheck"]["test"])
    assert "pg_isready" in db_check
    assert "redis-cli" in redis_check
    assert "ping" in redis_check


def test_app_waits_for_healthy_backing_services(compose):
    for name in APP_SERVICES:
        depends_on = compose["services"][name]["depends_on"]
        for backing in ("db", "redis"):
            assert depends_on[backing]["condition"] == "service_healthy", (
                name,
                backing,
            )


def test_redis_persists_with_append_only_file(compose):
    redis = compose["services"]["redis"]
    assert "--appendonly yes" in command_text(redis["command"])
    assert any(str(volume).endswith(":/data") for volume in redis["volumes"])


def test_named_volumes_are_declared_and_used(compose):
    declared = set(compose["volumes"])
    assert declared >= {"pgdata", "redisdata", "appdata"}
    used = {
        str(volume).split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
    }
    assert declared <= used


def test_web_and_worker_share_the_data_volume(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert "appdata:/data" in service["volumes"], name
        assert environment(service)["DATA_DIR"] == "/data", name


def test_web_migrates_then_serves_on_port_8000(compose):
    web = compose["services"]["web"]
    command = command_text(web["command"])
    assert command.index("manage.py migrate --noinput") < command.index("gunicorn")
    assert "0.0.0.0:8000" in command
    assert "8000:8000" in [str(port) for port in web["ports"]]


def test_worker_runs_rq_with_the_scheduler(compose):
    command = shlex.split(command_text(compose["services"]["worker"]["command"]))
    assert command[:4] == ["python", "manage.py", "rqworker", "default"]
    assert "--with-scheduler" in command
    assert (ROOT / "manage.py").is_file()
    settings = (ROOT / "eduplatform" / "settings.py").read_text(encoding="utf-8")
    assert '"django_rq"' in settings
    assert '"default":' in settings


def test_every_worker_serves_uploads_first_then_fsrs_fits(compose):
    """Compose and `make run` start workers on every queue, `default` before `low`."""
    assert QUEUES == ("default", "low")
    command = shlex.split(command_text(compose["services"]["worker"]["command"]))
    assert command[3:5] == list(QUEUES)
    assert tuple(runner.WORKER_QUEUES) == QUEUES


# --- Dockerfile ---------------------------------------------------------------


def test_image_is_python_311_slim(dockerfile):
    bases = re.findall(r"(?im)^FROM\s+(\S+)", dockerfile)
    assert bases
    assert set(bases) == {"python:3.11-slim"}


def test_image_installs_the_runtime_lock_only_with_hashes_and_no_torch(dockerfile):
    installs = [run for run in instructions(dockerfile, "RUN") if "pip install" in run]
    assert len(installs) == 1, installs
    (install,) = installs
    assert "--require-hashes" in install
    assert "-r requirements.txt" in install
    # The runtime has no torch, so it needs no torch index either.
    assert "download.pytorch.org" not in install


def test_the_runtime_lock_has_neither_torch_nor_pandas():
    """Fitting FSRS parameters (fsrs-rs) needs neither; only the build and bench groups do."""
    pinned = {
        line.split("==")[0]
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    assert "fsrs-rs-python" in pinned
    assert not pinned & {"torch", "pandas", "sympy"}


def test_image_gets_the_embedding_model_built_by_a_build_stage(dockerfile):
    stages = re.split(r"(?im)^FROM\s", dockerfile)
    model_stage = next(stage for stage in stages if re.match(r"\S+\s+AS\s+model\b", stage))
    assert "-r requirements/model-build.txt" in model_stage
    built = re.search(
        r"LOCAL_EMBEDDING_MODEL_DIR=(\S+)\s+python manage.py build_embedding_model", model_stage
    )
    assert built, model_stage
    env = " ".join(instructions(dockerfile, "ENV"))
    assert f"LOCAL_EMBEDDING_MODEL_DIR={built[1]}" in env
    copies = instructions(dockerfile, "COPY")
    assert any(c.startswith("--from=model ") and built[1].startswith(c.split()[-1]) for c in copies)
    # Outside the data volume, so that a new image's model is the one that runs.
    assert not built[1].startswith("/data/")


def test_image_compiles_messages_and_collects_static_at_build(dockerfile):
    runs = " ".join(instructions(dockerfile, "RUN"))
    assert "gettext" in runs
    assert "manage.py compilemessages" in runs
    assert "manage.py collectstatic --noinput" in runs
    # Dummies keep settings from starting the embedded servers.
    for variable in ("DJANGO_SECRET_KEY=", "DATABASE_URL=", "REDIS_URL="):
        assert variable in runs


def test_build_time_dummies_are_not_baked_into_the_image(dockerfile):
    env_lines = " ".join(instructions(dockerfile, "ENV") + instructions(dockerfile, "ARG"))
    for variable in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert variable not in env_lines


def test_image_runs_offline_as_a_non_root_user(dockerfile):
    users = instructions(dockerfile, "USER")
    assert users
    assert users[-1] not in ("root", "0", "0:0")
    assert "HF_HUB_OFFLINE=1" in " ".join(instructions(dockerfile, "ENV"))


def test_image_serves_gunicorn_on_port_8000(dockerfile):
    assert "8000" in instructions(dockerfile, "EXPOSE")
    (cmd,) = instructions(dockerfile, "CMD")
    cmd = command_text(json.loads(cmd)) if cmd.startswith("[") else cmd
    assert "eduplatform.wsgi:application" in cmd
    assert re.search(r"--bind 0\.0\.0\.0:\$\{PORT:-8000\}|--bind 0\.0\.0\.0:8000", cmd)
    assert "--config python:eduplatform.gunicorn_conf" in cmd


def test_every_web_server_streams_on_threads(compose, dockerfile):
    """Tutor answers stream: one worker class that does not block pages behind streams."""
    from eduplatform import gunicorn_conf

    assert gunicorn_conf.worker_class == "gthread" and gunicorn_conf.threads >= 8
    assert gunicorn_conf.timeout >= 60
    (cmd,) = instructions(dockerfile, "CMD")
    web = command_text(compose["services"]["web"]["command"])
    runner = (ROOT / "eduplatform" / "runner.py").read_text(encoding="utf-8")
    for command in (cmd, web, runner):
        assert "python:eduplatform.gunicorn_conf" in command
        assert "--workers" not in command


# --- Commands name modules that exist ---------------------------------------


def test_wsgi_targets_exist_in_the_repo(compose, dockerfile):
    commands = [command_text(json.loads(cmd)) for cmd in instructions(dockerfile, "CMD")]
    commands += [
        command_text(service["command"])
        for service in compose["services"].values()
        if "gunicorn" in command_text(service.get("command", ""))
    ]
    targets = [match for command in commands for match in WSGI_TARGET.findall(command)]
    targets = [(module, attr) for module, attr in targets if "." in module]
    assert ("eduplatform.wsgi", "application") in targets
    for module, attribute in targets:
        path = ROOT / Path(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"{module} has no {path}"
        assert re.search(rf"(?m)^{attribute}\s*=", path.read_text(encoding="utf-8"))


# --- CI workflow ----------------------------------------------------------------


def test_ci_workflow_runs_the_project_ci_script(workflow):
    # YAML 1.1 reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    runs = [step.get("run", "") for step in steps]
    assert any(run.strip() == "bash .ci/run" for run in runs)
    assert any("gettext" in run for run in runs)
    setup = [step for step in steps if str(step.get("uses", "")).startswith("actions/setup-python")]
    assert setup
    assert str(setup[0]["with"]["python-version"]) == "3.11"


def test_ci_takes_torch_from_the_cpu_index(workflow):
    (job,) = workflow["jobs"].values()
    env = {**workflow.get("env", {}), **job.get("env", {})}
    assert env["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
