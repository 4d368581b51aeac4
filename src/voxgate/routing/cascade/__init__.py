"""Answer-aware routing: a cheap model answers first, checks judge the answer, and the cascade
escalates to a stronger model only when they say so.

- `evidence`: the check protocol (`AnswerEvidence` -> `AnswerCheck` -> `CheckResult`);
- `rule`: the pure cascade rule (check results + bar -> accept / escalate / stop, with reasons);
- `planner`: the pure planner (scored candidates + constraints -> stages, skips, worst case).

The offline replay in `voxgate eval` calls `rule` and `planner` unchanged.
"""
