"""Odoo's own runner (``--test-enable``, OCA's CI) runs only the test
modules a ``tests/__init__.py`` imports; pytest-odoo finds every
``test_*.py``. Both must run the same tests, in every addon of the
repository."""

import importlib
import pathlib

from odoo.tests import BaseCase, tagged

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


@tagged("post_install", "-at_install")
class TestSuite(BaseCase):
    def test_every_test_module_is_imported(self):
        addons = sorted(p.parent for p in REPOSITORY.glob("*/__manifest__.py"))
        self.assertIn("repeat_customer", [a.name for a in addons])
        for addon in addons:
            tests = addon / "tests"
            if not tests.is_dir():
                continue
            package = importlib.import_module(f"odoo.addons.{addon.name}.tests")
            for module in sorted(tests.glob("test_*.py")):
                with self.subTest(addon=addon.name, module=module.stem):
                    self.assertTrue(
                        hasattr(package, module.stem),
                        f"{addon.name}/tests/__init__.py does not import "
                        f"{module.stem}: Odoo's runner would skip it",
                    )
