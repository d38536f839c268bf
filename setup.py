"""Compiles every translation catalog while the package is built or installed.

Catalogs are kept as .po in git; the .mo files are build products. setup.cfg holds all metadata.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


def compile_catalogs():
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in list(ROOT.glob("locales/*/LC_MESSAGES/*.po")) + list(
        ROOT.glob("plugins/*/translations/*/LC_MESSAGES/*.po")
    ):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)


class BuildWithCatalogs(build_py):
    def run(self):
        compile_catalogs()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
