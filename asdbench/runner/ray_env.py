"""The Ray runtime environment of a run (``--ray-runtime-env FILE`` or the TOML key
``ray_runtime_env``): what Ray ships to the workers (``working_dir``, ``py_modules``, ``pip``,
``env_vars``, ...), recorded in run.json as given, with local paths made absolute.

Relative local paths in a file or TOML table are relative to that file, not to the folder the
command happens to run in, so an experiment file means the same thing wherever it is started.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError

# Environment variables a worker needs to see the same caches and plugins as the driver.
FORWARDED_ENV = ("ASDBENCH_HOME", "ASDBENCH_LOAD_PLUGINS")
_PATH_KEYS = ("working_dir", "py_modules")


def load_runtime_env(path: Path) -> dict[str, Any]:
    """Read a runtime environment from a JSON or YAML file (the format ``ray job submit
    --runtime-env`` takes)."""
    flag = f"--ray-runtime-env {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{flag}: cannot read the file ({exc})") from None
    try:
        if path.suffix == ".json":
            env = json.loads(text)
        else:
            import yaml  # a dependency of Ray, which --ray-runtime-env needs anyway

            env = yaml.safe_load(text)
    except ImportError:
        raise ConfigError(f"{flag}: reading YAML needs PyYAML (pip install 'asdbench[ray]')") from None
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        raise ConfigError(f"{flag}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} "
                          f"({str(exc).splitlines()[0]})") from None
    return _checked(env, path.parent, flag)


def runtime_env_from_toml(value: Any, config_file: Path) -> dict[str, Any]:
    """The TOML key: an inline table, or the path of a JSON/YAML file (relative to the TOML file)."""
    if isinstance(value, str):
        file = Path(value).expanduser()
        return load_runtime_env(file if file.is_absolute() else config_file.parent / file)
    return _checked(value, config_file.parent, f"--config {config_file}: ray_runtime_env")


def _checked(env: Any, base: Path, where: str) -> dict[str, Any]:
    if not isinstance(env, dict):
        raise ConfigError(f"{where}: a runtime environment is a mapping (working_dir, pip, env_vars, ...), "
                          f"got {type(env).__name__}")
    env = dict(env)
    if "working_dir" in env:
        env["working_dir"] = _local_path(env["working_dir"], base, where)
    if "py_modules" in env:
        if not isinstance(env["py_modules"], list):
            raise ConfigError(f"{where}: py_modules must be a list")
        env["py_modules"] = [_local_path(m, base, where) for m in env["py_modules"]]
    env_vars = env.get("env_vars", {})
    if not isinstance(env_vars, dict) or not all(isinstance(v, str) for v in env_vars.values()):
        raise ConfigError(f"{where}: env_vars must map names to strings")
    try:
        from ray.runtime_env import RuntimeEnv
    except ImportError:
        return env  # validated by Ray once --executor ray needs it installed
    try:
        RuntimeEnv(**env)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: Ray rejects this runtime environment ({exc})") from None
    return env


def _local_path(value: Any, base: Path, where: str) -> Any:
    """Local paths absolute and checked; remote URIs (``s3://``, ``https://``, ...) as given."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {value!r} is not a path or URI")
    if "://" in value:
        return value
    path = Path(value).expanduser()
    path = path if path.is_absolute() else (base / path).resolve()
    if not path.exists():
        raise ConfigError(f"{where}: {path} does not exist")
    return str(path)


def job_runtime_env(user_env: dict[str, Any] | None) -> dict[str, Any]:
    """The user's runtime environment plus the asdbench variables the workers need (the user's
    own ``env_vars`` win)."""
    env = dict(user_env or {})
    forwarded = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    if forwarded:
        env["env_vars"] = {**forwarded, **env.get("env_vars", {})}
    return env
