// What the Node test servers (server.js, hostile.js) share: their command
// line parsing, and their process lifecycle: one "LISTENING <port>" line once the HTTP server listens;
// on SIGTERM/SIGINT one "STATS <json>" line (snapshot()) and an exit at
// once, without telling the clients anything; an exit on stdin EOF too,
// so a test that dies never leaves a server behind (the parent keeps a
// pipe on our stdin), unless ignoreStdin.
'use strict';

const fs = require('fs');

function quit() {
  // No graceful close: a test server must go away at once, whatever its
  // clients are doing; the kernel closes the sockets.
  process.exit(0);
}

// Writes all of s to fd synchronously, even if fd is a non-blocking pipe
// (libuv makes stdout pipes non-blocking) whose reader is slow.
function writeAllSync(fd, s) {
  const buf = Buffer.from(s);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}

// Prints usage (exit 0), or err and usage on stderr (exit 2).
function usage(name, text, err) {
  if (err) {
    process.stderr.write(`${name}: ${err}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(text + '\n');
  process.exit(0);
}

// Parses argv into a copy of defaults. spec maps each option to
// [key, kind]: kind 'int' (a non-negative integer) or 'string' takes the
// next argument; 'list' takes it too and appends it to an array (the
// option may be repeated); any other kind is the value the option itself
// sets (a flag). -h and --help print usageText.
function parseArgs(name, argv, defaults, spec, usageText) {
  const opts = { ...defaults };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage(name, usageText, null);
    if (!(a in spec)) usage(name, usageText, `unknown argument ${a}`);
    const [key, kind] = spec[a];
    if (kind !== 'int' && kind !== 'string' && kind !== 'list') {
      opts[key] = kind;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) usage(name, usageText, `${a} needs a value`);
    if (kind === 'list') {
      opts[key] = [...(opts[key] || []), v];
    } else if (kind === 'int') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) {
        usage(name, usageText, `${a} needs a non-negative integer`);
      }
      opts[key] = n;
    } else {
      opts[key] = v;
    }
  }
  return opts;
}

// A control API answer: obj as JSON, never cached.
function reply(res, code, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

// name: for error messages; opts: {host, port, ignoreStdin}.
function run(name, httpServer, opts, snapshot) {
  const dumpStatsAndQuit = () => {
    try {
      writeAllSync(1, `STATS ${JSON.stringify(snapshot())}\n`);
    } catch (e) {
      // stdout closed (EPIPE): nobody wants the stats, still exit
    }
    quit();
  };
  process.on('SIGTERM', dumpStatsAndQuit);
  process.on('SIGINT', dumpStatsAndQuit);
  if (!opts.ignoreStdin) {
    process.stdin.on('end', quit);
    process.stdin.on('error', quit);
    process.stdin.resume();
  }

  httpServer.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  // libuv sets SO_REUSEADDR: a restarted server can take --port N again at
  // once, whatever TIME_WAIT connections the killed one left.
  httpServer.listen(opts.port, opts.host, () => {
    // A single write() on a pipe is flushed before the next event loop turn.
    process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
  });
}

module.exports = { parseArgs, usage, run, reply };
