"""Cascades replayed over a hand-made table with answers: who answers, what is paid, what it scores."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.evaluation import cascade_replay as cr
from voxgate.evaluation import replay
from voxgate.evaluation.outcomes import AnswerRecord, OutcomeTable


def _scorer(p_good: np.ndarray) -> cr.Scorer:
    """P(good) fixed per cell, whatever was tried before."""
    return lambda i, j, before: float(p_good[i, j])


def _table(n: int = 4) -> OutcomeTable:
    """cheap / mid / strong: cheap right on even rows, mid right on rows 0 and 1, strong always right."""
    scores = np.array([[float(i % 2 == 0), float(i < 2), 1.0] for i in range(n)])
    answers = tuple(
        (AnswerRecord("B" if i % 2 == 0 else "C"), AnswerRecord("B" if i % 2 == 0 else "D"), AnswerRecord("B"))
        for i in range(n)
    )
    return OutcomeTable(
        name="toy",
        prompts=[f"q{i}" for i in range(n)],
        models=("cheap", "mid", "strong"),
        scores=scores,
        costs_usd=np.tile([0.001, 0.01, 0.1], (n, 1)),
        is_test=np.array([i % 2 == 1 for i in range(n)]),
        answers=answers,
    )


def test_accepted_cheap_answers_cost_one_stage_and_escalations_pay_every_stage() -> None:
    table = _table()
    plans = [[0, 2]] * 4
    p_good = np.array([[0.9, np.nan, 0.9], [0.1, np.nan, 0.9], [0.9, np.nan, 0.9], [0.1, np.nan, 0.9]])
    run = cr.run_planned(plans, _scorer(p_good), table.costs_usd, accept=0.5)
    assert run.returned.tolist() == [0, 2, 0, 2]
    assert run.cost_usd.tolist() == pytest.approx([0.001, 0.101, 0.001, 0.101])
    assert run.point(table.filled_scores()) == pytest.approx((0.204, 1.0))
    everything = cr.run_planned(plans, _scorer(p_good), table.costs_usd, accept=0.95)
    assert everything.returned.tolist() == [2, 2, 2, 2]  # nothing reaches the bar: the last stage's answer


def test_an_answer_nobody_recorded_is_never_accepted() -> None:
    table = _table()
    run = cr.run_planned([[1, 2]], _scorer(np.array([[np.nan, np.nan, 0.9]])), table.costs_usd[:1], accept=0.0)
    assert run.returned.tolist() == [2]
    assert run.cost_usd.tolist() == pytest.approx([0.11])


def test_planner_starts_cheap_and_ends_at_the_best_predicted_model() -> None:
    quality = np.array([[0.6, 0.7, 0.9]])
    cost = np.array([[0.001, 0.01, 0.1]])
    assert cr.plan_stages(quality, cost, 0.0, 3, ("cheap", "mid", "strong")) == [[0, 1, 2]]
    assert cr.plan_stages(quality, cost, 0.0, 2, ("cheap", "mid", "strong")) == [[1, 2]]  # the more promising one
    assert cr.plan_stages(quality, cost, 1e3, 3, ("cheap", "mid", "strong")) == [[0]]  # λ huge: the cheapest alone


def test_agreement_returns_the_cheap_answer_when_two_cheap_models_agree_else_the_strongest() -> None:
    table = _table()
    points = cr.agreement_points(table, table)
    assert points is not None
    assert points.shape == (1, 2)
    # rows 0, 2 agree (B, B): cheap's answer, right; rows 1, 3 disagree (C, D): strong, right
    assert points[0].tolist() == pytest.approx([4 * 0.011 + 2 * 0.1, 1.0])
    two_models = OutcomeTable("pair", table.prompts, ("cheap", "strong"), table.scores[:, [0, 2]],
                              table.costs_usd[:, [0, 2]], table.is_test,
                              answers=tuple((r[0], r[2]) for r in table.answers or ()))  # fmt: skip
    assert cr.agreement_points(two_models, two_models) is None


def test_routerbench_cascade_with_a_perfect_judge_stops_at_the_first_right_answer() -> None:
    table = _table()
    cost, accuracy, rejected = cr.judge_cascade(table, [0, 1, 2], 1.0, float("inf"), 0.0, seed=0)
    assert accuracy == 1.0
    assert cost == pytest.approx(2 * 0.001 + 0.011 + 0.111)  # rows 0, 2: cheap; row 1: mid; row 3: all three
    assert rejected.tolist() == [0.0, 1.0, 0.0, 1.0]
    capped_cost, capped_accuracy, _ = cr.judge_cascade(table, [0, 1, 2], 1.0, 0.005, 0.0, seed=0)
    assert capped_cost == pytest.approx(0.004)
    assert capped_accuracy == 0.5


def test_routerbench_cascade_judge_errors_are_seeded_and_cost_accuracy() -> None:
    table = _table(200)
    first = cr.judge_cascade(table, [0, 1, 2], 1.0, float("inf"), 0.2, seed=0)
    second = cr.judge_cascade(table, [0, 1, 2], 1.0, float("inf"), 0.2, seed=0)
    assert first[:2] == second[:2]
    assert 0.75 < first[1] < 1.0  # wrong answers slip through about as often as the judge errs
    points, rejected = cr.judge_cascade_points(table, table, 0.1)
    assert points.shape[1] == 2
    assert len(rejected) == 200
    assert points[:, 0].min() < points[:, 0].max()


def test_cascade_routers_give_points_for_each_router_and_strong_win_scores_on_a_pair() -> None:
    table = _table(8)
    test, train = table.test(), table  # every row as the "TRAIN" reference: there cheap is right half the time
    quality = np.tile([0.5, 0.6, 0.9], (len(test.prompts), 1))
    p_good = np.where(test.scores > 0, 0.9, 0.1)
    inputs = cr.ReplayInputs(test, quality, test.costs_usd, _scorer(p_good))
    train_inputs = cr.ReplayInputs(train, np.tile([0.5, 0.6, 0.9], (len(train.prompts), 1)), train.costs_usd,
                                   _scorer(np.where(train.scores > 0, 0.9, 0.1)))  # fmt: skip
    figures = cr.cascade_routers(inputs, train_inputs, pair=None)
    assert set(figures.points) == set(cr.CASCADE_ROUTERS)
    best = figures.points["voxgate-cascade"][:, 1].max()
    assert best == 1.0  # a checker that knows every answer reaches the strong model's accuracy
    assert "voxgate_cascade_operating_point" in figures.details
    assert figures.wins == {}


def _recorded(table: OutcomeTable) -> cr.RecordedFinals:
    recorded = cr.RecordedFinals.of(table)
    assert recorded is not None
    return recorded


def test_agreement_pays_both_side_by_side_answers_even_when_the_first_is_accepted() -> None:
    table = _table()
    confident = np.full((4, 3), 0.9)  # the learned check would accept every answer
    run = cr.run_planned([[0, 1, 2]] * 4, _scorer(confident), table.costs_usd, 0.5, _recorded(table))
    # rows 0, 2: cheap and mid both say B: cheap accepted, mid paid too; rows 1, 3: C against D, the
    # agreement check (0.3) holds both back: the strong model answers and all three are paid
    assert run.returned.tolist() == [0, 2, 0, 2]
    assert run.cost_usd.tolist() == pytest.approx([0.011, 0.111, 0.011, 0.111])
    assert run.tried == [[0, 1], [0, 1, 2], [0, 1], [0, 1, 2]]
    assert run.point(table.filled_scores())[1] == 1.0
    without = cr.run_planned([[0, 1, 2]] * 4, _scorer(confident), table.costs_usd, 0.5)
    assert without.returned.tolist() == [0, 0, 0, 0]  # no agreement: the confident cheap answer, wrong on odd rows
    assert without.cost_usd.tolist() == pytest.approx([0.001] * 4)


def test_agreement_is_one_check_among_the_stage_results_the_weakest_decides() -> None:
    table = _table()
    doubtful_cheap = np.tile([0.4, 0.9, 0.9], (4, 1))
    run = cr.run_planned([[0, 1, 2]] * 4, _scorer(doubtful_cheap), table.costs_usd, 0.5, _recorded(table))
    # even rows: agreement says 0.85 but the learned 0.4 holds cheap back; mid (agreeing, 0.9) is accepted
    assert run.returned.tolist() == [1, 2, 1, 2]
    assert run.cost_usd.tolist() == pytest.approx([0.011, 0.111, 0.011, 0.111])
    low_bar = cr.run_planned([[0, 1, 2]] * 4, _scorer(np.full((4, 3), 0.9)), table.costs_usd, 0.3, _recorded(table))
    assert low_bar.returned.tolist() == [0, 0, 0, 0]  # a bar at the disagreement's 0.3 lets disagreeing answers through


def test_agreement_waits_for_three_stages_and_ignores_a_peer_nobody_recorded() -> None:
    table = _table()
    confident = np.full((4, 3), 0.9)
    two = cr.run_planned([[0, 2]] * 4, _scorer(confident), table.costs_usd, 0.5, _recorded(table))
    assert two.cost_usd.tolist() == pytest.approx([0.001] * 4)  # two stages: one at a time, as live
    assert two.returned.tolist() == [0, 0, 0, 0]
    recorded = _recorded(table)
    unrecorded_mid = cr.RecordedFinals(recorded.finals, recorded.known & np.array([True, False, True]))
    p_good = np.tile([0.9, np.nan, 0.9], (4, 1))  # no answer from mid: the learned check alone judges cheap
    run = cr.run_planned([[0, 1, 2]] * 4, _scorer(p_good), table.costs_usd, 0.5, unrecorded_mid)
    assert run.returned.tolist() == [0, 0, 0, 0]
    assert run.cost_usd.tolist() == pytest.approx([0.011] * 4)


def test_stage_peers_side_by_side_only_with_agreement_in_a_long_enough_plan() -> None:
    assert [cr.stage_peers([4, 5, 6], k, True) for k in range(3)] == [(5,), (4,), (4, 5)]
    assert [cr.stage_peers([4, 5, 6], k, False) for k in range(3)] == [(), (4,), (4, 5)]
    assert [cr.stage_peers([4, 6], k, True) for k in range(2)] == [(), (4,)]


def test_the_knob_grid_has_agreement_settings_only_for_three_stages_and_recorded_answers() -> None:
    table = _table()
    quality = np.tile([0.5, 0.6, 0.9], (4, 1))
    runs = cr.cascade_runs(quality, table.costs_usd, _scorer(np.full((4, 3), 0.9)), table)
    agreeing = [c for c in runs if c[3]]
    assert agreeing
    assert {c[1] for c in agreeing} == {3}
    assert len(agreeing) == len(cr.CASCADE_LAMBDAS) * len(cr.ACCEPT_GRID)
    bare = OutcomeTable("bare", table.prompts, table.models, table.scores, table.costs_usd, table.is_test)
    assert not [c for c in cr.cascade_runs(quality, table.costs_usd, _scorer(np.full((4, 3), 0.9)), bare) if c[3]]


def test_an_explicit_order_is_every_row_s_plan_whatever_the_prediction() -> None:
    quality = np.array([[0.6, 0.7, 0.9], [0.9, 0.1, 0.2]])
    cost = np.tile([0.001, 0.01, 0.1], (2, 1))
    models = ("cheap", "mid", "strong")
    assert cr.plan_stages(quality, cost, None, 3, models, order=("mid", "cheap", "strong")) == [[1, 0, 2]] * 2
    assert cr.plan_stages(quality, cost, 0.0, 3, models) == [[0, 1, 2], [0]]  # λ: row 1's choice is cheap


def test_middle_cost_share_in_the_replay_drops_a_dear_middle_stage() -> None:
    quality = np.array([[0.5, 0.6, 0.7, 0.9]])
    cost = np.array([[0.001, 0.002, 0.08, 0.1]])
    models = ("tiny", "cheap", "dear", "strong")
    assert cr.plan_stages(quality, cost, 0.0, 3, models) == [[1, 2, 3]]
    assert cr.plan_stages(quality, cost, 0.0, 3, models, 0.25) == [[0, 1, 3]]


def _four_models(n: int = 8) -> OutcomeTable:
    """a, b, c cheap; strong always right. a and b agree on every row (right on even rows only);
    c agrees with a on even rows and says something else on odd rows."""
    scores = np.array([[float(i % 2 == 0)] * 3 + [1.0] for i in range(n)])
    answers = tuple(
        (AnswerRecord("B" if i % 2 == 0 else "C"), AnswerRecord("B" if i % 2 == 0 else "C"),
         AnswerRecord("B" if i % 2 == 0 else "E"), AnswerRecord("B"))
        for i in range(n)
    )  # fmt: skip
    return OutcomeTable("four", [f"q{i}" for i in range(n)], ("a", "b", "c", "strong"), scores,
                        np.tile([0.001, 0.002, 0.003, 0.1], (n, 1)), np.zeros(n, dtype=bool), answers=answers)


def test_agreement_orders_are_the_pairs_on_train_s_pareto_front_ending_on_the_strongest() -> None:
    table = _four_models()
    # a+b: $0.024, accuracy 0.5 (they agree on the wrong C too); a+c: $0.432, 1.0; b+c: $0.44, 1.0 (dominated)
    assert cr.agreement_orders(table) == [("a", "b", "strong"), ("a", "c", "strong")]
    bare = OutcomeTable("bare", table.prompts, table.models, table.scores, table.costs_usd, table.is_test)
    assert cr.agreement_orders(bare) == []


def test_explicit_orders_join_the_knob_grid_with_agreement_and_every_bar() -> None:
    table = _four_models()
    quality = np.tile([0.5, 0.6, 0.7, 0.9], (8, 1))
    orders = [("a", "c", "strong")]
    runs = cr.cascade_runs(quality, table.costs_usd, _scorer(np.full((8, 4), 0.9)), table, orders)
    explicit = {c: r for c, r in runs.items() if c.models is not None}
    assert len(explicit) == len(cr.ACCEPT_GRID)
    assert {(c.lam, c.max_stages, c.agreement, c.models) for c in explicit} == {(None, 3, True, orders[0])}
    run = explicit[cr.Config(None, 3, 0.5, True, None, orders[0])]
    # even rows: a and c agree, a's answer (right) for $0.004; odd rows: they differ, strong answers
    assert run.returned.tolist() == [0, 3] * 4
    assert run.cost_usd.tolist() == pytest.approx([0.004, 0.104] * 4)
    assert run.point(table.filled_scores())[1] == 1.0
    shared = {c.lam for c in runs if c.middle_cost_share is not None}
    assert 0.0 not in shared  # at λ 0 the last stage is strong ($0.1): every cheap one is under 25 % of it, same plans
    assert shared  # where the λ choice is c ($0.003), a and b cost over 25 % of it: other plans, their own points


def test_the_hopeless_floor_in_the_replay_skips_a_stage_the_predictor_gives_up_on() -> None:
    quality = np.array([[0.1, 0.6, 0.9], [0.4, 0.6, 0.9]])
    cost = np.tile([0.001, 0.01, 0.1], (2, 1))
    models = ("cheap", "mid", "strong")
    assert cr.plan_stages(quality, cost, 0.0, 3, models) == [[0, 1, 2], [0, 1, 2]]  # the default floor, 0.05
    assert cr.plan_stages(quality, cost, 0.0, 3, models, hopeless_below=0.35) == [[1, 2], [0, 1, 2]]
    assert cr.plan_stages(quality, cost, 0.0, 3, models, hopeless_below=0.5) == [[1, 2], [1, 2]]
    table = _table(2)
    runs = cr.cascade_runs(quality, table.costs_usd, _scorer(np.full((2, 3), 0.1)), table)  # nothing accepted
    floors = {c.hopeless_below: r for c, r in runs.items() if c.lam == 0.0 and c.max_stages == 3 and not c.agreement}
    assert set(floors) == {None, 0.2, 0.5}  # 0.35 plans as 0.2 does: left out, not repeated
    assert floors[None].cost_usd.tolist() == pytest.approx([0.111, 0.111])
    assert floors[0.2].cost_usd.tolist() == pytest.approx([0.11, 0.111])  # row 0 does not pay for cheap
    assert floors[0.5].cost_usd.tolist() == pytest.approx([0.11, 0.11])


def test_one_stage_settings_are_the_predict_only_router_at_every_lambda() -> None:
    rng = np.random.default_rng(3)
    table = _table(6)
    quality = rng.random((6, 3))
    sweep = cr.cascade_sweep(quality, table.costs_usd, _scorer(rng.random((6, 3))), table)
    one_stage = {(round(c, 12), round(a, 12)) for config, (c, a) in sweep.items() if config.max_stages == 1}
    predict_only = {(round(c, 12), round(a, 12)) for c, a in replay.lambda_sweep(quality, table.costs_usd, table)}
    assert len(predict_only) > 1
    assert predict_only <= one_stage  # the cascade's curve holds the plain prediction's
    assert len({c.lam for c in sweep if c.max_stages == 1}) == len(replay.LAMBDA_GRID)
