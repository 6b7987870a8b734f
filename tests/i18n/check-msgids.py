#!/usr/bin/env python3
"""Every translatable message reaches translators whole.

xgettext stops a msgid at the first thing that is not a string literal,
so `_("A frame of %" G_GUINT64_FORMAT " samples")` gives translators
"A frame of %" and the program looks up a msgid no catalogue has. This
reads each _() and N_() argument in the sources, fails on any macro or
expression between its string pieces, and checks the whole text is a
msgid of the catalogue xgettext makes. It also fails on a source that
marks messages but is missing from po/POTFILES (its messages would never
be translated).

usage: check-msgids.py SOURCE_ROOT"""

import os
import re
import sys

import i18nlib

# the directories whose C files may mark messages
SCANNED_DIRS = ('gst', 'tools')

TOKEN_RE = re.compile(r'''
    (?P<space>\s+|/\*.*?\*/|//[^\n]*)
  | "(?P<string>(?:[^"\\\n]|\\.)*)"
  | (?P<close>\))
  | (?P<other>[A-Za-z_]\w*|.)
''', re.VERBOSE | re.DOTALL)

MARKER_RE = re.compile(r'(?<![\w.>])N?_\s*\(')


def marked_messages(path, text):
    """(line, msgid or None, problem) for each marked message of a file."""
    for marker in MARKER_RE.finditer(text):
        line = text.count('\n', 0, marker.start()) + 1
        pieces, problem, pos = [], None, marker.end()
        while pos < len(text):
            token = TOKEN_RE.match(text, pos)
            pos = token.end()
            if token.group('string') is not None:
                pieces.append(i18nlib.decode_c_string(token.group('string')))
            elif token.group('close'):
                break
            elif token.group('other'):
                problem = problem or (
                    '%r after %r' % (token.group('other'), ''.join(pieces)))
        if problem:
            yield line, None, problem
        elif not pieces:
            yield line, None, 'no string literal'
        else:
            yield line, ''.join(pieces), None


def main(srcdir):
    failures = []
    listed = set(i18nlib.potfiles(srcdir))
    for name in sorted(listed):
        if not os.path.exists(os.path.join(srcdir, name)):
            failures.append('po/POTFILES lists %s, which does not exist' % name)

    sources = {}
    for top in SCANNED_DIRS:
        for root, _, files in os.walk(os.path.join(srcdir, top)):
            for file in files:
                if file.endswith('.c'):
                    path = os.path.join(root, file)
                    with open(path, encoding='utf-8') as f:
                        sources[os.path.relpath(path, srcdir)] = f.read()

    pot_msgids = {entry.msgid for entry in i18nlib.extract_pot(srcdir)}
    checked = 0
    for name, text in sorted(sources.items()):
        messages = list(marked_messages(name, text))
        if messages and name not in listed:
            failures.append('%s marks messages but po/POTFILES does not list '
                            'it' % name)
        for line, msgid, problem in messages:
            checked += 1
            if problem:
                failures.append(
                    '%s:%d: the _() argument is not only string literals '
                    '(%s): xgettext cuts the msgid there. Format the value '
                    'into a string first (g_strdup_printf ("%%" '
                    'G_GUINT64_FORMAT, n)) and put %%s in the message.'
                    % (name, line, problem))
            elif name in listed and msgid not in pot_msgids:
                failures.append('%s:%d: xgettext does not extract %r'
                                % (name, line, msgid))

    for failure in failures:
        print('FAIL:', failure)
    print('%d marked messages in %d C files, %d msgids in the catalogue, '
          '%d problems' % (checked, len(sources), len(pot_msgids),
                           len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
