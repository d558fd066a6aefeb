"""pytest hooks of the repository: a test of the addon that skips is a test
that did not run. Odoo's browser tests skip when Chromium or websocket-client
is missing; here that fails the run, with the reason, instead of hiding it."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} was skipped ({reason}): every test of the addon must "
            "run. Browser tests need Chromium on the PATH and websocket-client "
            "(requirements-test.txt)."
        )
