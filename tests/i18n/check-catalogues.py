#!/usr/bin/env python3
"""Every language of po/LINGUAS translates every message.

The catalogue is extracted afresh from the sources (into a temporary
file), so a message added without updating the translations fails here,
naming the message. Each po/LANG.po must also pass `msgfmt --check`
(the translation keeps the msgid's conversions, in order or numbered).

usage: check-catalogues.py SOURCE_ROOT"""

import glob
import os
import subprocess
import sys

import i18nlib


def main(srcdir):
    failures = []
    languages = i18nlib.linguas(srcdir)
    present = {os.path.basename(p)[:-3]
               for p in glob.glob(os.path.join(srcdir, 'po', '*.po'))}
    for lang in sorted(present - set(languages)):
        failures.append('po/%s.po exists but po/LINGUAS does not list %s: '
                        'it is neither built nor checked' % (lang, lang))

    pot = i18nlib.extract_pot(srcdir)
    for lang in languages:
        po = os.path.join(srcdir, 'po', lang + '.po')
        if not os.path.exists(po):
            failures.append('po/LINGUAS lists %s but po/%s.po is missing'
                            % (lang, lang))
            continue
        check = subprocess.run(['msgfmt', '--check', '--output-file=/dev/null',
                                po], capture_output=True, text=True)
        if check.returncode != 0:
            failures.append('msgfmt --check po/%s.po:\n%s'
                            % (lang, check.stderr.rstrip()))
        translations = {e.key: e for e in i18nlib.read_po(po)}
        for entry in pot:
            translation = translations.get(entry.key)
            if translation is None:
                state = 'missing'
            elif translation.fuzzy:
                state = 'fuzzy'
            elif not translation.translated:
                state = 'untranslated'
            else:
                continue
            failures.append('po/%s.po: %s (%s): %r'
                            % (lang, state, ' '.join(entry.references),
                               entry.msgid))

    for failure in failures:
        print('FAIL:', failure)
    print('%d messages, languages %s: %d problems'
          % (len(pot), ' '.join(languages), len(failures)))
    if failures:
        print('To bring the catalogues up to date run tools/update-po.sh, '
              'translate the entries it lists (empty or marked fuzzy) and '
              'remove their fuzzy flags; see docs/translating.md.')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
