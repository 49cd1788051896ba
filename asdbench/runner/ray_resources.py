"""What one trial asks Ray for, and whether the cluster can ever give it.

Pure functions of the run configuration and ``ray.nodes()``, so the arithmetic is testable
without a cluster and checked before anything is submitted (a request no node can satisfy
would otherwise wait forever without a word):

- ``--device cuda`` (or ``auto`` on a cluster with GPUs): one GPU per trial, and
  ``--cpus-per-trial`` CPUs or, by default, the smallest ``CPUs // GPUs`` over the GPU nodes,
  so that every GPU of every node can run a trial at the same time;
- CPU trials: ``--cpus-per-trial`` CPUs, by default ``--threads`` (a trial then never uses more
  cores than it holds, and its thread count, which changes numbers, does not depend on the node).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .config import RunConfig


@dataclass(frozen=True)
class NodeInfo:
    address: str
    cpus: int
    gpus: int

    @classmethod
    def from_ray(cls, node: dict[str, Any]) -> NodeInfo:
        resources = node.get("Resources", {})
        return cls(str(node.get("NodeManagerAddress", "?")), int(resources.get("CPU", 0)),
                   int(resources.get("GPU", 0)))


@dataclass(frozen=True)
class TaskResources:
    cpus: int
    gpus: int

    def fits(self, node: NodeInfo) -> bool:
        return node.cpus >= self.cpus and node.gpus >= self.gpus

    def slots(self, node: NodeInfo) -> int:
        """How many such trials ``node`` runs at once."""
        if not self.fits(node):
            return 0
        by_cpu = node.cpus // self.cpus if self.cpus else 10**9
        return min(by_cpu, node.gpus // self.gpus) if self.gpus else by_cpu


def alive_nodes(ray_nodes: list[dict[str, Any]]) -> list[NodeInfo]:
    return [NodeInfo.from_ray(n) for n in ray_nodes if n.get("Alive")]


def wants_gpu(config: RunConfig, nodes: list[NodeInfo]) -> bool:
    return config.device == "cuda" or (config.device == "auto" and any(n.gpus for n in nodes))


def task_resources(config: RunConfig, nodes: list[NodeInfo]) -> TaskResources:
    """The CPUs and GPUs one trial asks for (see the module docstring)."""
    if wants_gpu(config, nodes):
        gpu_nodes = [n for n in nodes if n.gpus]
        default = min((max(1, n.cpus // n.gpus) for n in gpu_nodes), default=1)
        return TaskResources(config.cpus_per_trial or default, 1)
    return TaskResources(config.cpus_per_trial or config.threads, 0)


def describe_nodes(nodes: list[NodeInfo]) -> str:
    return ", ".join(f"{n.address}: {n.cpus} CPUs, {n.gpus} GPUs" for n in nodes) or "no alive node"


def check_feasible(config: RunConfig, nodes: list[NodeInfo], where: str) -> TaskResources:
    """The task resources, or a ConfigError that says why no node can ever run a trial."""
    request = task_resources(config, nodes)
    if request.gpus and not any(n.gpus for n in nodes):
        raise ConfigError(f"--device cuda: the Ray cluster at {where} has no GPUs ({describe_nodes(nodes)}); "
                          "use --device cpu or add GPU nodes")
    if not any(request.fits(n) for n in nodes):
        kind = "GPU node" if request.gpus else "node"
        if config.cpus_per_trial is not None:
            flag = f"--cpus-per-trial {request.cpus}"
        elif request.gpus:
            flag = f"--device cuda ({request.cpus} CPUs per GPU)"
        else:
            flag = f"--threads {request.cpus} (the CPUs a trial holds without --cpus-per-trial)"
        raise ConfigError(f"{flag}: no {kind} of the Ray cluster at {where} has "
                          f"{request.cpus} CPUs{' and a GPU' if request.gpus else ''} ({describe_nodes(nodes)})")
    return request


def plan_line(request: TaskResources, nodes: list[NodeInfo]) -> str:
    """One line for the user: what a trial holds and how many run at once."""
    slots = sum(request.slots(n) for n in nodes)
    gpu = f" and {request.gpus} GPU" if request.gpus else ""
    return (f"Ray: each trial holds {request.cpus} CPU(s){gpu}; up to {slots} trial(s) at once on "
            f"{len(nodes)} node(s) ({describe_nodes(nodes)})")
