"""The API page (``chapters/27_api.md``) documents every module, and every public object has an example.

Moved out of the page's index cell: the page now only displays the index.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import sgdsde

API_PAGE = Path(__file__).resolve().parents[1] / "chapters" / "27_api.md"


def _documented_modules() -> list[str]:
    source = API_PAGE.read_text(encoding="utf-8")
    return re.findall(r"^\.\. automodule:: (sgdsde[\w.]*)", source, re.M)


def test_every_module_has_a_section_on_the_api_page():
    documented = _documented_modules()
    package = [
        m.name
        for m in pkgutil.walk_packages(sgdsde.__path__, "sgdsde.")
        if not any(part.startswith("_") for part in m.name.split("."))
    ]
    assert sorted(documented) == sorted(package), (
        f"modules without a section: {sorted(set(package) - set(documented))}; "
        f"sections for absent modules: {sorted(set(documented) - set(package))}"
    )


def test_every_public_object_has_a_docstring_example():
    missing = []
    for name in _documented_modules():
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [
            k
            for k, v in vars(module).items()
            if not k.startswith("_")
            and (inspect.isfunction(v) or inspect.isclass(v))
            and v.__module__ == module.__name__
        ]
        for obj_name in public:
            obj = getattr(module, obj_name, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue  # constants are documented by a #: comment
            if ">>>" not in (inspect.getdoc(obj) or ""):
                missing.append(f"{name}.{obj_name}")
    assert not missing, f"public objects without a docstring example: {missing}"
