#!/usr/bin/env python3
"""A real error of socketiosink comes out in Chinese.

Runs audiotestsrc ! socketiosink against a closed port on 127.0.0.1
(error-text, see its comment) with LC_ALL=C.UTF-8: first without
LANGUAGE, where the message must be the English msgid, then under
LANGUAGE=zh_CN and LANGUAGE=zh_TW, where it must be that msgid's msgstr
in po/LANG.po with the same values. (glibc ignores LANGUAGE in the plain
"C" locale but not in C.UTF-8, which Debian 12's libc has built in, so
no locale needs generating.)

usage: error-in-chinese.py SOURCE_ROOT ERROR_TEXT BUILD_LOCALEDIR"""

import os
import socket
import subprocess
import sys

import i18nlib

# the message of SIO_CLIENT_ERROR_CONNECT_FAILED in post_connection_error()
MSGID = ('Could not connect to the Socket.IO server at %s (host %s, port %d). '
         'Check that the server is running and that the host and port in the '
         'location property are right.')
LANGUAGES = ('zh_CN', 'zh_TW')


def closed_port():
    """A port of 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def error_text(helper, localedir, location, language):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('LC_') and k not in ('LANG', 'LANGUAGE')}
    env['LC_ALL'] = 'C.UTF-8'
    if language:
        env['LANGUAGE'] = language
    run = subprocess.run([helper, localedir, location], env=env,
                         capture_output=True, timeout=60)
    sys.stderr.write(run.stderr.decode('utf-8', 'replace'))
    if run.returncode != 0:
        raise SystemExit('error-text failed (%d) under LANGUAGE=%s'
                         % (run.returncode, language))
    return run.stdout.decode('utf-8').rstrip('\n')


def main(srcdir, helper, localedir):
    port = closed_port()
    location = 'http://127.0.0.1:%d' % port
    values = (location, '127.0.0.1', port)
    failures = []

    checks = [(None, MSGID)]
    for lang in LANGUAGES:
        po = os.path.join(srcdir, 'po', lang + '.po')
        entry = {e.msgid: e for e in i18nlib.read_po(po)}.get(MSGID)
        if entry is None or not entry.translated:
            failures.append('po/%s.po does not translate %r' % (lang, MSGID))
            continue
        if entry.msgstr[0] == MSGID:
            failures.append('po/%s.po "translates" it as the English text'
                            % lang)
        checks.append((lang, entry.msgstr[0]))

    for language, template in checks:
        expected = i18nlib.c_format(template, *values)
        got = error_text(helper, localedir, location, language)
        print('LANGUAGE=%s: %s' % (language or '', got))
        if got != expected:
            failures.append('LANGUAGE=%s: expected\n  %s\ngot\n  %s'
                            % (language or '', expected, got))

    for failure in failures:
        print('FAIL:', failure)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
