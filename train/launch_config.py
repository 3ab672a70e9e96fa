"""The accelerate launch config a recipe names: found in one place, read into the facts reasonlift acts on.

`make train`, `make plan` and `make slurm` all resolve `train.accelerate_config` here, so a name
(`zero2`) or a path (`my.yaml`, relative to the recipe's folder or the current one) means the same file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from recipes.errors import UserError
from recipes.paths import REPO_ROOT, resolve_path

ACCELERATE_CONFIGS = REPO_ROOT / "accelerate_configs"


@dataclass(frozen=True)
class LaunchConfig:
    path: Path
    distributed_type: str  # NO, MULTI_GPU, MULTI_CPU, DEEPSPEED, FSDP
    num_processes: int
    mixed_precision: str  # no, bf16, fp16
    use_cpu: bool
    zero_stage: int | None
    raw: dict
    deepspeed_file: Path | None = None  # the DeepSpeed JSON behind `deepspeed_config_file`, resolved
    deepspeed: dict | None = None  # its contents

    @property
    def is_deepspeed(self) -> bool:
        return self.distributed_type == "DEEPSPEED"

    def deepspeed_dtype(self, key: str) -> str:
        """`grad_accum_dtype` (under data_types) or `communication_data_type`, as DeepSpeed reads them: unset
        means the model's dtype (bf16 under mixed precision)."""
        config = self.deepspeed or {}
        value = (config.get("data_types") or {}).get(key) if key == "grad_accum_dtype" else config.get(key)
        return str(value) if value else "model dtype"

    @property
    def strategy(self) -> str:
        """ddp | zero2 | zero3 | fsdp | cpu: how parameters, gradients and optimizer states are held."""
        if self.use_cpu:
            return "cpu"
        if self.distributed_type == "DEEPSPEED":
            return f"zero{self.zero_stage or 0}"
        if self.distributed_type == "FSDP":
            return "fsdp"
        return "ddp"


def accelerate_config_path(name: str) -> Path:
    """A bare name is a file in accelerate_configs/; anything with a slash or a .yaml suffix is a path (made
    absolute by the recipe loader; a relative one here is the shell's, relative to the current directory)."""
    if "/" in name or name.endswith((".yaml", ".yml")):
        path = resolve_path(name, Path.cwd())
    else:
        path = ACCELERATE_CONFIGS / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in ACCELERATE_CONFIGS.glob("*.yaml")))
        raise UserError(
            f"train.accelerate_config: no config {name!r} (known: {known}, or a path to a YAML file)"
        )
    return path


@functools.cache
def load_launch_config(name: str) -> LaunchConfig:
    """The accelerate config (and the DeepSpeed file it names), read once per process."""
    path = accelerate_config_path(name)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UserError(f"train.accelerate_config: {path} is not valid YAML ({err})") from None
    deepspeed = raw.get("deepspeed_config") or {}
    stage = deepspeed.get("zero_stage")
    file, contents = None, None
    if deepspeed.get("deepspeed_config_file"):
        file = _deepspeed_file(path, deepspeed["deepspeed_config_file"])
        contents = _read_deepspeed_file(path, file)
        stage = (contents.get("zero_optimization") or {}).get("stage", stage)
    return LaunchConfig(
        path=path,
        distributed_type=str(raw.get("distributed_type", "NO")),
        num_processes=int(raw.get("num_processes", 1)),
        mixed_precision=str(raw.get("mixed_precision", "no")),
        use_cpu=bool(raw.get("use_cpu", False)),
        zero_stage=int(stage) if stage is not None else None,
        raw=raw,
        deepspeed_file=file,
        deepspeed=contents,
    )


def _deepspeed_file(launch_path: Path, name: str) -> Path:
    """`deepspeed_config_file` is relative to the launch config's own folder (accelerate itself would read it
    from the current directory, so the launcher hands accelerate the resolved path)."""
    file = Path(name).expanduser()
    return file if file.is_absolute() else (launch_path.parent / file).resolve()


def _read_deepspeed_file(launch_path: Path, file: Path) -> dict:
    where = f"{launch_path}: deepspeed_config_file {file}"
    if not file.is_file():
        raise UserError(f"{where} does not exist (a path relative to {launch_path.parent})")
    try:
        contents = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{where} is not valid JSON ({err})") from None
    if not isinstance(contents, dict) or "zero_optimization" not in contents:
        raise UserError(f"{where} has no zero_optimization section (accelerate requires one)")
    return contents
