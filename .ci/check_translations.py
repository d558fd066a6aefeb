"""Fail when a term of an addon's .pot (every addon of the repository) has no
Simplified Chinese translation."""

import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def check(addon):
    i18n = ROOT / addon / "i18n"
    template = polib.pofile(str(i18n / f"{addon}.pot"))
    chinese = {e.msgid: e for e in polib.pofile(str(i18n / "zh_CN.po"))}
    problems = []
    for entry in template:
        translated = chinese.get(entry.msgid)
        if translated is None or not translated.msgstr.strip():
            problems.append(f"untranslated: {entry.msgid!r}")
        elif sorted(PLACEHOLDER.findall(entry.msgid)) != sorted(
            PLACEHOLDER.findall(translated.msgstr)
        ):
            problems.append(f"placeholders differ: {entry.msgid!r}")
    for problem in problems:
        print(f"{addon}: {problem}")
    print(
        f"{addon} zh_CN: {len(template) - len(problems)}/{len(template)} "
        "terms translated"
    )
    return len(problems)


def main():
    addons = sorted(p.parent.name for p in ROOT.glob("*/__manifest__.py"))
    return 1 if sum(check(addon) for addon in addons) else 0


if __name__ == "__main__":
    sys.exit(main())
