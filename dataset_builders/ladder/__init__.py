"""The bundled ladder's outcome set: questions with checkable answers, asked of the three bundled
models, graded, written as the outcome file `voxgate train` reads (`src/voxgate/data/ladder/`).

    python -m dataset_builders.ladder.outcomes --help

`questions` (generated questions and their `Question` record), `benchmarks` (HumanEval and
MT-Bench sources), `unfamiliar` (kinds of question the shipped set lacks), `grading` (the
deterministic graders; HumanEval's runs model-written code in a sandboxed subprocess) and
`outcomes` (the generator). Run from the repository root; not part of the installed package.
"""
