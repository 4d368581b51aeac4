"""Reading a declared function's properties and required names from schemas of any shape."""

from __future__ import annotations

from voxgate.backends.toolcall_schema import declared_properties, required_names


def test_properties_and_required_names_are_read_from_a_well_formed_schema() -> None:
    function = {"name": "f", "parameters": {"type": "object", "required": ["b", "a"],
                                            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}
    assert declared_properties(function) == {"a": {"type": "string"}, "b": {"type": "integer"}}
    assert required_names(function) == ("b", "a")  # in the schema's order


def test_malformed_schemas_read_as_nothing_declared() -> None:
    for function in (None, "f", {"name": "f"}, {"parameters": None}, {"parameters": {"properties": ["a"]}},
                     {"parameters": {"required": "a"}}):
        assert declared_properties(function) is None
        assert required_names(function) == ()
    assert required_names({"parameters": {"required": ["a", 3, None]}}) == ("a",)
