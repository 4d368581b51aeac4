"""Choosing a model for a request, and explaining the choice.

eligibility (hard filters) -> predictor (quality per model) -> estimates (cost, latency)
-> policy (pure choice) -> decision record -> dispatcher (calls the plan, falls back).
"""
