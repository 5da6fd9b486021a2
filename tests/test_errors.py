"""One exception root: everything botkit raises on purpose is a BotkitError, and the names a
program catches are exported from ``botkit``."""

from __future__ import annotations

import ast
import inspect
import pickle
from pathlib import Path

import pytest

import botkit
from botkit import errors

REPO = Path(__file__).resolve().parents[1]


def _exception_classes() -> list[tuple[str, str]]:
    """Every class in botkit's sources whose bases name an exception (``...Error``,
    ``Exception``, a stdlib error, or one of botkit.errors' classes)."""
    known = set(errors.__all__) | {"Exception", "ValueError", "LookupError", "RuntimeError"}
    found = []
    for path in sorted((REPO / "botkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & known or any(b.endswith("Error") for b in bases):
                    found.append((str(path.relative_to(REPO)), node.name))
    return found


@pytest.mark.parametrize(("path", "name"), _exception_classes())
def test_every_exception_class_is_under_the_root(path: str, name: str) -> None:
    module = ".".join(Path(path).with_suffix("").parts).removesuffix(".__init__")
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert issubclass(cls, errors.BotkitError), f"{path}: {name} is not a BotkitError"


def test_the_tree_in_the_docstring_names_every_class() -> None:
    doc = inspect.getdoc(errors) or ""
    for name in errors.__all__:
        assert name in doc, f"{name} is missing from the tree drawn in botkit/errors.py"


def test_what_load_raises_is_exported() -> None:
    for name in ("BotkitError", "FlowError", "ConfigurationError"):
        assert name in botkit.__all__
        assert getattr(botkit, name) is getattr(errors, name)


def test_load_raises_exported_errors(
    tmp_path: Path,
) -> None:
    with pytest.raises(botkit.BotkitError):
        botkit.load(tmp_path / "없는폴더")
    (tmp_path / "main.yaml").write_text("flow: main\nstates: [\n", encoding="utf-8")
    with pytest.raises(botkit.FlowError) as caught:
        botkit.load(tmp_path)
    assert "main.yaml:" in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        errors.ConflictError("web:민지", 1, 2),
        errors.BadId("user.id", "is empty"),
        errors.BodyTooLarge(65_536),
        errors.FlowError([]),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_with_fields_survive_pickling(error: errors.BotkitError) -> None:
    """What crosses a process boundary (a worker, a test runner) keeps its message and fields."""
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert vars(again) == vars(error)
