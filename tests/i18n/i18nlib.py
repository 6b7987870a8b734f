"""Helpers shared by the i18n tests: xgettext as meson's glib preset runs
it, a small PO reader, and C string literals."""

import os
import re
import subprocess
import tempfile

# The keywords and flags of meson's i18n.gettext(preset : 'glib')
# (mesonbuild/modules/i18n.py), so the tests see the msgids that
# `ninja -C build gst-socketio-1.0-pot` extracts.
XGETTEXT_ARGS = [
    '--from-code=UTF-8', '--add-comments',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3',
    '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format',
    '--flag=NC_:2:pass-c-format', '--flag=g_dngettext:2:pass-c-format',
    '--flag=g_strdup_printf:1:c-format', '--flag=g_string_printf:2:c-format',
    '--flag=g_string_append_printf:2:c-format',
    '--flag=g_error_new:3:c-format', '--flag=g_set_error:4:c-format',
]

PACKAGE = 'gst-socketio-1.0'


def potfiles(srcdir):
    """The sources po/POTFILES lists, relative to the source root."""
    with open(os.path.join(srcdir, 'po', 'POTFILES'), encoding='utf-8') as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


def linguas(srcdir):
    with open(os.path.join(srcdir, 'po', 'LINGUAS'), encoding='utf-8') as f:
        return [word for line in f if not line.startswith('#')
                for word in line.split()]


def extract_pot(srcdir):
    """Runs xgettext on po/POTFILES into a temporary file (the source tree
    is left alone) and returns the parsed entries."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, PACKAGE + '.pot')
        subprocess.run(['xgettext', *XGETTEXT_ARGS, '--package-name=' + PACKAGE,
                        '--directory=' + srcdir, '--output=' + pot,
                        *potfiles(srcdir)], check=True)
        if not os.path.exists(pot):  # xgettext writes nothing for no msgid
            return []
        return read_po(pot)


C_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'b': '\b',
             'f': '\f', 'v': '\v', '\\': '\\', '"': '"', "'": "'", '?': '?'}


def decode_c_string(body):
    """The text of a C (or PO) string literal's body, escapes resolved."""
    def escape(m):
        text = m.group(1)
        if text[0] in C_ESCAPES:
            return C_ESCAPES[text[0]]
        if text[0] == 'x':
            return chr(int(text[1:], 16))
        return chr(int(text, 8))
    return re.sub(r'\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)', escape, body)


class Entry:
    def __init__(self):
        self.msgctxt = None
        self.msgid = None
        self.msgid_plural = None
        self.msgstr = {}  # index (0 when not plural) -> text
        self.flags = set()
        self.references = []

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    @property
    def fuzzy(self):
        return 'fuzzy' in self.flags

    @property
    def translated(self):
        return (bool(self.msgstr) and all(self.msgstr.values())
                and not self.fuzzy)


def read_po(path):
    """The entries of a PO file, header and obsolete (#~) ones left out."""
    entries = []
    entry, field = Entry(), None
    string_re = re.compile(r'"((?:[^"\\]|\\.)*)"')

    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            starts_entry = line.startswith('#') or \
                line.startswith(('msgctxt ', 'msgid '))
            if starts_entry and entry.msgstr:  # the previous entry is done
                entries.append(entry)
                entry, field = Entry(), None
            if line.startswith('#,'):
                entry.flags.update(x.strip() for x in line[2:].split(','))
            elif line.startswith('#:'):
                entry.references.extend(line[2:].split())
            if not line or line.startswith('#'):
                continue
            if not line.startswith('"'):
                field, _, line = line.partition(' ')
            text = decode_c_string(string_re.match(line).group(1))
            if field.startswith('msgstr'):
                index = int(field[7:-1]) if field != 'msgstr' else 0
                entry.msgstr[index] = entry.msgstr.get(index, '') + text
            else:
                setattr(entry, field, (getattr(entry, field) or '') + text)
    if entry.msgstr:
        entries.append(entry)
    # the header is the entry with an empty msgid
    return [e for e in entries if e.msgid]


def c_format(template, *args):
    """printf() of the %s/%d/%u/%llu conversions messages use, positional
    (%1$s) ones included, so a test can build the text it expects."""
    position = iter(range(len(args)))

    def conversion(m):
        if m.group(0) == '%%':
            return '%'
        index = int(m.group(1)) - 1 if m.group(1) else next(position)
        return str(args[index])
    return re.sub(r'%%|%(?:(\d+)\$)?(?:l|ll|h|z)?[sdiu]', conversion,
                  template)
