"""The OpenAPI document is as strict as the validation: every input it describes is bounded
(integers by their column's range, strings by length and pattern, lists by size), and
every pattern is one that JSON Schema tools (and schemathesis) can read."""

import jsonschema_rs
import pytest

from points_service.inputs import MAX_ID


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _input_schemas(spec):
    """(where, schema) of every parameter, request body property and nested item."""
    stack = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                stack.append((f"{where} {parameter['in']} {parameter['name']}", parameter["schema"]))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                stack.append((f"{where} body", content["schema"]))
    while stack:
        where, schema = stack.pop()
        schema = _resolve(spec, schema)
        yield where, schema
        for name, child in schema.get("properties", {}).items():
            stack.append((f"{where}.{name}", child))
        if "items" in schema:
            stack.append((f"{where}[]", schema["items"]))


def test_every_integer_input_has_both_bounds_and_ids_fit_their_column(spec):
    integers = [(where, schema) for where, schema in _input_schemas(spec) if schema.get("type") == "integer"]
    assert len(integers) > 10
    for where, schema in integers:
        assert "minimum" in schema and "maximum" in schema, where
        assert schema["maximum"] <= MAX_ID, where


def test_every_string_input_has_a_length_and_a_pattern_or_a_fixed_form(spec):
    for where, schema in _input_schemas(spec):
        if schema.get("type") != "string" or "enum" in schema or schema.get("format") in ("date-time", "binary"):
            continue
        assert "pattern" in schema, where
        unbounded = any(mark in schema["pattern"] for mark in ("*", "+", ",}"))
        assert "maxLength" in schema or not unbounded, where


def test_every_list_input_has_a_size_limit(spec):
    for where, schema in _input_schemas(spec):
        if schema.get("type") == "array":
            assert "maxItems" in schema, where


def test_every_pattern_is_a_json_schema_regular_expression(spec):
    patterns = {schema["pattern"] for _, schema in _input_schemas(spec) if "pattern" in schema}
    assert len(patterns) >= 5
    for pattern in patterns:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})  # raises on a bad pattern
