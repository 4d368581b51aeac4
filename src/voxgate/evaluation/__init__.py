"""Offline replay of routers over known per-query outcomes, with RouterBench and RouteLLM metrics.

Entry point: `run_evaluation(dataset, data_root, out_dir, cache_dir) -> dict` (the report.json
content). Datasets: `routerbench`, `routellm`, `open7b` (from `shared/data/routing`), one slice
such as `routerbench/mbpp`, or a user's CSV/JSONL in the format documented in `loaders`.
"""

from voxgate.evaluation.runner import run_evaluation

__all__ = ["run_evaluation"]
