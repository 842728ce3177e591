"""Builds the package's shared library, libsecagg.so, from the Go sources beside it.

setuptools reads the metadata from pyproject.toml; this file only adds the step that
runs `go build -buildmode=c-shared` (the Go toolchain and gcc, for cgo, must be on
PATH) into the build tree, so both `pip install ./python` and the wheel carry the
library, and marks the wheel as platform-specific since it does.
"""

import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class BuildWithLibrary(build_py):
    """build_py, then the C ABI compiled into the built package."""

    def run(self):
        super().run()
        target = os.path.join(os.path.abspath(self.build_lib), "secagg", "libsecagg.so")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        env = dict(os.environ, CGO_ENABLED="1")
        subprocess.check_call(
            ["go", "build", "-buildmode=c-shared", "-trimpath", "-o", target, "./cmd/libsecagg"],
            cwd=REPO, env=env)
        header = target[:-3] + ".h"
        if os.path.exists(header):
            os.remove(header)  # cgo's header; cmd/libsecagg/secagg.h is the contract


class BinaryDistribution(Distribution):
    """A distribution with a compiled library inside: its wheel is tagged for the platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
