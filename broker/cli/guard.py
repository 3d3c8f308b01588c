"""Translate errors into the command line's contract: one line on stderr and an exit code."""

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError

from broker.cli.exits import fail, refuse
from broker.envelope import DirectoryError, EnvelopeError, KeyFileError
from broker.errors import CaselinkError
from schemas.field_errors import field_errors, field_paths


def field_locations(error: ValidationError) -> str:
    """The failing field paths of a validation error: never a value, nor an unknown key."""
    return field_paths(field_errors(error.errors(include_url=False, include_input=False)))


@contextmanager
def cli_errors() -> Iterator[None]:
    """Refusals exit 3; bad files, bad keys and invalid input exit 2."""
    try:
        yield
    except (EnvelopeError, DirectoryError) as error:
        refuse(error)
    except KeyFileError as error:
        fail(f"bad key file ({error.reason}): {error}")
    except CaselinkError as error:
        fail(f"{error.reason}: {error}")
    except ValidationError as error:
        fail(f"invalid {error.title} at: {field_locations(error)}")
    except FileNotFoundError as error:
        fail(f"no such file: {error.filename}")
    except OSError as error:
        fail(f"cannot use {error.filename}: {error.strerror}")
