"""The wheel's one build step besides copying files: precompiled templates (issue #18).

Everything else is in pyproject.toml. When the wheel is built, every template is compiled by
Jinja's own `compile_templates` into naftiko_gen/templates/_compiled (see
naftiko_gen.render.PRECOMPILED): the first build after installing then reads compiled templates
instead of spending ~0.1 s of CPU compiling them. An editable install skips it (its templates
change as they are edited; they are compiled into the user cache folder as before).
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        sys.path.insert(0, str(HERE / "generator"))
        try:
            from naftiko_gen import render
        finally:
            sys.path.remove(str(HERE / "generator"))
        render.precompile(Path(self.build_lib) / "naftiko_gen" / "templates" / render.PRECOMPILED)


setup(cmdclass={"build_py": BuildPyWithTemplates})
