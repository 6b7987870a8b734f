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
  | '(?:[^'\\\n]|\\.)*'
  | (?P<word>[A-Za-z_]\w*)
  | (?P<other>.)
''', re.VERBOSE | re.DOTALL)

MARKERS = ('_', 'N_')


def tokens(text):
    """(line, kind, text) of the C tokens, comments and spaces left out."""
    line = 1
    for token in TOKEN_RE.finditer(text):
        if token.group('string') is not None:
            yield line, 'string', token.group('string')
        elif token.group('word'):
            yield line, 'word', token.group('word')
        elif token.group('other'):
            yield line, 'other', token.group('other')
        line += token.group(0).count('\n')


def marked_messages(text):
    """(line, msgid or None, problem) for each marked message of a file."""
    stream = list(tokens(text))
    for i, (line, kind, word) in enumerate(stream[:-1]):
        if kind != 'word' or word not in MARKERS or stream[i + 1][2] != '(':
            continue
        pieces, problem, depth = [], None, 0
        for _, kind, value in stream[i + 2:]:
            if kind == 'string':
                pieces.append(i18nlib.decode_c_string(value))
                continue
            if value == ')' and depth == 0:
                break
            depth += {'(': 1, ')': -1}.get(value, 0)
            problem = problem or '%r after %r' % (value, ''.join(pieces))
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
        messages = list(marked_messages(text))
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
