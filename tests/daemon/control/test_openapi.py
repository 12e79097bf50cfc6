"""The OpenAPI document stays true: it lists exactly the routes served, is valid OpenAPI 3.1,
every command example parses, and real answers validate against its schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openapi_schema_validator
import openapi_spec_validator
import pytest

from daemon.commands import parse_command
from daemon.control.http import build_app
from daemon.control.openapi import COMMAND_EXAMPLES, SIGNATURE_HEADER, openapi_document
from daemon.control.service import CommandService
from tests.support.control_plane import control, pause

TOKEN = "t0ken-for-tests"
KEY = b"0123456789abcdef-test-key"


# ---- the OpenAPI document ------------------------------------------------------------------

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def refs(document: dict[str, Any]) -> set[str]:
    return set(re.findall(r'"\$ref": "([^"]*)"', json.dumps(document)))


CONFIGURATIONS = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize(("token", "signing"), CONFIGURATIONS)
def test_the_document_lists_exactly_the_routes_served(token: bool, signing: bool) -> None:
    service = CommandService(None, "demo", signing_key=KEY if signing else None)  # type: ignore[arg-type]
    app = build_app(
        service,
        None,  # type: ignore[arg-type]
        token=TOKEN if token else None,
        metrics=lambda: (b"", "text/plain"),
    )
    served = {(r.resource.canonical, r.method) for r in app.router.routes() if r.resource}
    document = openapi_document(token=token, signing=signing)
    assert operations(document) == served
    assert ("securitySchemes" in document["components"]) == token
    for path, item in document["paths"].items():
        for method, operation in item.items():
            secured = "security" in operation
            assert secured == (token and path.startswith("/v1/")), (method, path)
            assert secured == ("401" in operation["responses"]), (method, path)
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (method, path)
            headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
            if (method, path) == ("post", "/v1/commands") and signing:
                assert [(h["name"], h["required"]) for h in headers] == [(SIGNATURE_HEADER, True)]
            else:
                assert headers == [], (method, path)


@pytest.mark.parametrize(("token", "signing"), CONFIGURATIONS)
async def test_the_served_document_describes_the_running_configuration(
    tmp_path: Path, token: bool, signing: bool
) -> None:
    options: dict[str, Any] = {"token": TOKEN if token else None}
    options["signing_key"] = KEY if signing else None
    async with control(tmp_path, **options) as c:
        status, served = await c.get("/openapi.json")
    assert status == 200
    assert served == openapi_document(token=token, signing=signing)


def test_the_document_is_well_formed() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] and document["info"]["version"]
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path, item in document["paths"].items():
        for operation in item.values():
            assert operation["responses"], path
            for response in operation["responses"].values():
                assert response["description"], path
    json.dumps(document, allow_nan=False)  # plain JSON


def test_each_command_has_an_example_that_parses() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    post = document["paths"]["/v1/commands"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    mapping = schemas["Command"]["discriminator"]["mapping"]
    assert set(examples) == set(mapping) == set(COMMAND_EXAMPLES)
    for kind, example in examples.items():
        assert parse_command(json.dumps(example["value"])).type == kind
        member = schemas[mapping[kind].removeprefix("#/components/schemas/")]
        assert member["properties"]["type"]["const"] == kind  # not shadowed by a view's schema


@pytest.mark.parametrize(("token", "signing"), CONFIGURATIONS)
def test_the_document_validates_as_openapi_3_1(token: bool, signing: bool) -> None:
    openapi_spec_validator.validate(openapi_document(token=token, signing=signing))


async def answers(tmp_path: Path) -> dict[str, list[Any]]:
    """Real answers of the running control plane, by the name of their documented schema."""
    async with control(tmp_path) as c:
        await c.feed.release(*c.slices[:3])
        _, rebalanced = await c.post(COMMAND_EXAMPLES["rebalance"])
        _, status = await c.post(COMMAND_EXAMPLES["status"])
        _, rejected = await c.post(pause("g1", "ghost"))
        assert await c.get("/openapi.json") == (200, openapi_document())
        strategies = (await c.get("/v1/strategies"))[1]
        rebalances = (await c.get("/v1/rebalances"))[1]
        assert strategies and rebalances
        return {
            "FundStatus": [(await c.get("/v1/status"))[1], status["reply"]["data"]],
            "Strategy": [*strategies, (await c.get("/v1/strategies/trend"))[1]],
            "RebalanceRecord": rebalances,
            "Readiness": [(await c.get("/readyz"))[1]],
            "Liveness": [(await c.get("/healthz"))[1]],
            "Route": (await c.get("/"))[1],
            "CommandResult": [rebalanced, status, rejected],
            "Reply": [rebalanced["reply"], rebalanced["accepted"], rejected["reply"]],
            "CommandReplies": [(await c.get("/v1/commands/c-5"))[1]],
            "Error": [(await c.get("/nowhere"))[1], (await c.get("/v1/commands/none"))[1]],
            "Command": [
                *COMMAND_EXAMPLES.values(),
                *(
                    parse_command(json.dumps(e)).model_dump(mode="json")
                    for e in COMMAND_EXAMPLES.values()
                ),
            ],
        }


async def test_the_answers_have_the_documented_keys(tmp_path: Path) -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name, values in (await answers(tmp_path)).items():
        if name == "Command":
            continue  # a union: its members are checked by the full validation
        for value in values:
            expected = set(schemas[name]["properties"])
            assert set(value) == expected == set(schemas[name]["required"]), name


async def test_the_answers_validate_against_the_document(tmp_path: Path) -> None:
    validation = openapi_schema_validator
    document = openapi_document()
    for name, values in (await answers(tmp_path)).items():
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        for value in values:
            validation.validate(value, schema, cls=validation.OAS31Validator)


def test_the_document_states_the_bad_bar_reasons_and_what_counts_as_a_strategy_error() -> None:
    from daemon.feeds.validation import REJECT_REASONS

    document = openapi_document()
    described = document["paths"]["/metrics"]["get"]["description"]
    assert all(f"`{reason}`" in described for reason in REJECT_REASONS)
    assert {"`out_of_range`", "`future`", "`malformed`"} <= set(re.findall(r"`\w+`", described))
    errors = document["components"]["schemas"]["Strategy"]["properties"]["errors"]
    assert errors["type"] == "integer" and "fills or marks" in errors["description"]
