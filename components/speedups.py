"""Work Rasa 3.6 repeats on every message, done once instead (found by profiling under load).

Rasa validates each action-server response with `jsonschema.validate`, which re-checks the
response *schema* against the JSON-Schema meta-schema every time: about half of the Rasa
server's CPU under load (docs/profiles/). The schema never changes, so it is checked once and
its validator reused; responses are still validated in full, with the same errors.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

logger = logging.getLogger(__name__)
_ORIGINAL_VALIDATE = jsonschema.validate
_validators: dict[str, Any] = {}
MAX_CACHED_SCHEMAS = 64


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """`jsonschema.validate`, checking each distinct schema against its meta-schema once."""
    if args or kwargs:
        _ORIGINAL_VALIDATE(instance, schema, cls, *args, **kwargs)
        return
    key = json.dumps(schema, sort_keys=True, default=repr)
    validator = _validators.get(key)
    if validator is None:
        validator_class = cls or validator_for(schema)
        validator_class.check_schema(schema)
        validator = validator_class(schema)
        if len(_validators) < MAX_CACHED_SCHEMAS:
            _validators[key] = validator
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def install() -> None:
    """Use the caching `validate` wherever Rasa imports it from `jsonschema` (idempotent)."""
    jsonschema.validate = validate


def release_freed_memory() -> None:
    """Hand memory freed after start-up back to the system (glibc only; a no-op elsewhere).

    Encoding the safety net's anchors and loading the model free over 100 MB that glibc keeps
    in its heap; the server would carry it as resident memory for its whole life.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:
        logger.debug("malloc_trim is not available here")
