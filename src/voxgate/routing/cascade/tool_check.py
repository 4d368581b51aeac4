"""ToolCallCheck: the exact check on a tool turn's answer, as an `AnswerCheck` for the cascade.

A call to a function `tools` does not declare, arguments that are not JSON or fail the
function's `parameters` schema, text (or nothing) where `tool_choice` demanded a call, a call
where it forbade one, several calls with `parallel_tool_calls: false`, a call written out as
text, or a call repeating one already made and answered: each makes the answer fail, conclusively
(`backends.tool_validation.find_tool_call_problems` says which). An answer with none of these
problems is not thereby good, so the check then has nothing to say and the other checks decide.
"""

from __future__ import annotations

from voxgate.backends.tool_validation import find_tool_call_problems
from voxgate.core.types import Capability, JSONObject

from .evidence import AnswerEvidence, CheckResult

_MEANING = "number of problems with the tool call(s)"


class ToolCallCheck:
    """Fails a tool turn's answer that does not fit the request's `tools` and `tool_choice`."""

    name = "tool_calls"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        request = evidence.request
        if Capability.TOOLS not in request.needs:
            return CheckResult.not_applicable(self.name, "the request offers no tools")
        message: JSONObject = {"role": "assistant", "content": evidence.answer_text,
                               "tool_calls": list(evidence.tool_calls)}
        problems = find_tool_call_problems(request.body, message)
        if not problems:
            return CheckResult.not_applicable(self.name, "the answer fits the tools and tool_choice")
        kinds = ", ".join(sorted({problem.kind.value for problem in problems}))
        return CheckResult.scored(
            self.name, 0.0, float(len(problems)), _MEANING, f"tool answer broken: {kinds}", conclusive=True
        )
