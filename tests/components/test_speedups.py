from unittest import mock

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from components import speedups


@pytest.fixture
def installed():
    original = jsonschema.validate
    speedups._validators.clear()
    speedups.install()
    yield
    jsonschema.validate = original


def test_rasa_action_responses_are_still_validated(installed) -> None:
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "hi"}]})
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result({"events": [{"event": 42}], "responses": "nope"})


def test_schema_is_checked_once(installed) -> None:
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    with mock.patch.object(
        validator_class, "check_schema", wraps=validator_class.check_schema
    ) as check:
        for _ in range(5):
            jsonschema.validate({"events": [], "responses": []}, schema)
    assert check.call_count == 1


def test_invalid_schema_still_raises(installed) -> None:
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.validate({}, {"type": 12})
