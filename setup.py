"""Build hook: compile the translation catalogs (``.po`` -> ``.mo``) whenever convlens is built.

Everything else about the package is in ``pyproject.toml``. The compiler is
``app/po.py`` (standard library only), loaded by path: the isolated build
environment has setuptools and nothing of convlens's dependencies, and GNU
``msgfmt`` is not on a fresh machine nor needed. A wheel gets the ``.mo`` files in
its build folder; an editable install (``pip install -e .``, what ``make`` runs)
gets them beside their ``.po`` sources, where ``app.i18n`` reads them.
"""

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
LOCALE = Path("app") / "locale"


def _po_compiler():
    spec = importlib.util.spec_from_file_location("convlens_po", HERE / "app" / "po.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class BuildPyWithCatalogs(build_py):
    """``build_py`` that also writes ``app/locale/<lang>/LC_MESSAGES/convlens.mo``."""

    def run(self):
        super().run()
        target = HERE / LOCALE if self.editable_mode else Path(self.build_lib) / LOCALE
        for mo_path in _po_compiler().compile_tree(HERE / LOCALE, target):
            self.announce(f"compiled {mo_path}", level=2)


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import the hook
    setup(cmdclass={"build_py": BuildPyWithCatalogs})
