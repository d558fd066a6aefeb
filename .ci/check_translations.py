"""Fail when a term of repeat_customer.pot has no Simplified Chinese translation."""

import re
import sys
from pathlib import Path

import polib

I18N = Path(__file__).resolve().parent.parent / "repeat_customer" / "i18n"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def main():
    template = polib.pofile(str(I18N / "repeat_customer.pot"))
    chinese = {e.msgid: e for e in polib.pofile(str(I18N / "zh_CN.po"))}
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
        print(problem)
    print(f"zh_CN: {len(template) - len(problems)}/{len(template)} terms translated")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
