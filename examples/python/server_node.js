#!/usr/bin/env node
// A socket.io 4.8 server that writes the audio it receives to a WAV file.
//
//   node server_node.js [--host 127.0.0.1] [--port 5000] [--wav out.wav]
//       [--event audio_data] [--no-fill-gaps]
//
// socket.io comes from npm (`npm install socket.io@4.8`); from a checkout of
// gst-socketio, use the copy the tests installed:
//   NODE_PATH=tests/server/node_modules node examples/python/server_node.js
//
// It prints "LISTENING <port>" once it accepts connections (--port 0: a free
// port). Each event {audio_data, seq, pts, duration, format, rate, channels,
// replay, stream_id, discont, missing_duration, missing_samples} is written
// in order, acknowledged once written, and dropped if its (stream_id, seq)
// was already written (a replay after a reconnection, or its late
// original); without stream_id (older sinks), if it is a replay of a seq
// already written. Gaps are logged; one the sink reports (discont) is filled
// with silence of its length, so that the file's timeline stays the
// stream's (--no-fill-gaps: only logged). The WAV header is rewritten after
// every write, so the file is complete at any time; SIGINT/SIGTERM close it.
// One file: a new stream (a new stream_id, or without one a client that
// starts again at seq 0) continues the same file.
// One thread (Node's event loop): no locks.

'use strict';

const fs = require('fs');
const http = require('http');
const { Server } = require('socket.io');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const host = option('host', '127.0.0.1');
const port = Number(option('port', '5000'));
const wavPath = option('wav', 'out.wav');
const eventName = option('event', 'audio_data');
const fillGaps = !process.argv.includes('--no-fill-gaps');

// A stream's record is forgotten after this long without audio (a replay
// comes within seconds of its first sending), and the oldest beyond this
// many streams: the memory of what was written stays bounded.
const STREAM_EXPIRY_MS = 600e3;
const MAX_STREAMS = 100;
// A reported gap longer than this is logged, not filled (a bogus
// missing_duration must not fill the disk).
const MAX_FILL_S = 3600;
const FILL_CHUNK_FRAMES = 16000; // silence is written in pieces

// The 44-byte header of a PCM WAV file holding dataBytes bytes of audio.
function wavHeader(rate, channels, dataBytes) {
  const h = Buffer.alloc(44);
  const blockAlign = channels * 2; // S16LE: 2 bytes a sample
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16); // size of the fmt chunk
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34); // bits a sample
  h.write('data', 36);
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

// the file, its format (from the first audio) and the audio bytes written
const wav = {
  fd: fs.openSync(wavPath, 'w'), rate: 0, channels: 0, bytes: 0,
};

// stream_id -> {lastSeq, nextPts, lastUsed}, least recently used first;
// undefined is the one stream of sinks that send no stream_id. Within a
// stream_id seq only grows and events are written in the order they come,
// so the highest seq written is enough to recognise audio already written.
const streams = new Map();

function streamRecord(streamId, seq) {
  const now = Date.now();
  for (const [oldestId, oldest] of streams) {
    const expired = now - oldest.lastUsed >= STREAM_EXPIRY_MS;
    if (streams.size < MAX_STREAMS && !expired) break;
    streams.delete(oldestId);
  }
  let stream = streams.get(streamId);
  if (stream === undefined) {
    stream = { lastSeq: -1, nextPts: null }; // nextPts: where the audio ends
    if (streamId !== undefined) {
      console.log(`stream ${streamId}: a new stream from seq ${seq}`);
    }
  }
  streams.delete(streamId); // set again: the most recently used
  streams.set(streamId, stream);
  stream.lastUsed = now;
  return stream;
}

function writeFrames(data) {
  fs.writeSync(wav.fd, data, 0, data.length, 44 + wav.bytes);
  wav.bytes += data.length;
  fs.writeSync(wav.fd, wavHeader(wav.rate, wav.channels, wav.bytes), 0, 44, 0);
}

// Writes silenceFrames frames of silence, then the event's audio.
function writeAudio(msg, silenceFrames) {
  if (msg.format !== 'S16LE') {
    // compressed audio has "caps" in place of "format"
    console.error(`seq ${msg.seq}: ${msg.format || msg.caps} is not S16LE: ` +
      'skipped');
    return;
  }
  if (wav.rate === 0) {
    wav.rate = msg.rate;
    wav.channels = msg.channels;
  } else if (msg.rate !== wav.rate || msg.channels !== wav.channels) {
    console.error(`seq ${msg.seq}: ${msg.rate} Hz, ${msg.channels} channels ` +
      `in a ${wav.rate} Hz, ${wav.channels} channels file: skipped`);
    return;
  }
  for (let left = silenceFrames; left > 0; left -= FILL_CHUNK_FRAMES) {
    const frames = Math.min(left, FILL_CHUNK_FRAMES);
    writeFrames(Buffer.alloc(frames * 2 * wav.channels));
  }
  writeFrames(msg.audio_data);
}

// Logs the gap a discont event reports; returns the number of frames of
// silence to write before its audio.
function reportedGap(msg, prefix, nextPts) {
  const duration = msg.missing_duration ?? undefined;
  let frames = msg.missing_samples ?? undefined;
  if (frames === undefined && duration !== undefined && msg.rate) {
    frames = Math.round(duration * msg.rate / 1e9);
  }
  // after a reconnection the sink counts from the audio it saw
  // acknowledged: this server may have written some of it already
  if (frames !== undefined && nextPts !== null && msg.pts !== null &&
      msg.rate) {
    frames = Math.max(0, Math.min(frames,
      Math.round((msg.pts - nextPts) * msg.rate / 1e9)));
  }
  let what = duration !== undefined ? `${duration / 1e6} ms`
    : 'audio of unknown length';
  if (frames !== undefined) what += ` (${frames} samples)`;
  let filled = 'filled with silence';
  if (!fillGaps) {
    filled = 'not filled (--no-fill-gaps)';
  } else if (frames === undefined || msg.format !== 'S16LE') {
    filled = 'not filled: not raw PCM of known length';
  } else if (frames > MAX_FILL_S * msg.rate) {
    filled = `not filled: over ${MAX_FILL_S} s`;
  }
  console.log(`gap: ${prefix}seq ${msg.seq}: ${what} missing before it: ` +
    filled);
  return filled === 'filled with silence' ? frames : 0;
}

function onAudio(msg, ack) {
  const streamId = msg.stream_id ?? undefined; // null: none
  const stream = streamRecord(streamId, msg.seq);
  const prefix = streamId !== undefined ? `stream ${streamId}: ` : '';
  if (msg.seq <= stream.lastSeq &&
      (streamId !== undefined || msg.replay)) {
    // unflagged under a stream_id: a late original, after its replay
    const what = msg.replay ? 'replayed' : 'a late original';
    console.log(`${prefix}seq ${msg.seq}: ${what}, already written: dropped`);
  } else {
    if (msg.seq <= stream.lastSeq) {
      // without stream_id: the sink never repeats a seq without "replay":
      // a new stream
      console.log(`seq ${msg.seq}: a new stream`);
      stream.nextPts = null;
    } else if (stream.lastSeq >= 0 && msg.seq !== stream.lastSeq + 1) {
      console.log(`gap: ${prefix}seq ${stream.lastSeq + 1} to ` +
        `${msg.seq - 1} never arrived`);
    }
    let silence = 0;
    if (msg.discont) {
      silence = reportedGap(msg, prefix, stream.nextPts);
    } else if (stream.nextPts !== null && msg.pts !== stream.nextPts) {
      console.log(`gap: ${prefix}${(msg.pts - stream.nextPts) / 1e6} ms ` +
        `of audio missing before seq ${msg.seq}`);
    }
    writeAudio(msg, silence);
    stream.lastSeq = msg.seq;
    stream.nextPts = msg.pts === null ? null : msg.pts + msg.duration;
  }
  // after writing: the client frees the audio once acknowledged
  if (typeof ack === 'function') ack();
}

const httpServer = http.createServer();
const io = new Server(httpServer);
io.on('connection', (socket) => {
  console.log(`client ${socket.id} connected`);
  socket.emit('recording', { wav: wavPath });
  socket.on(eventName, onAudio);
  socket.on('disconnect', (reason) => {
    console.log(`client ${socket.id} disconnected (${reason}): ` +
      `${wav.bytes} bytes in ${wavPath}`);
  });
});

function stop() {
  fs.closeSync(wav.fd);
  console.log(`wrote ${wav.bytes} bytes of audio to ${wavPath}`);
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

httpServer.listen(port, host, () => {
  console.log(`LISTENING ${httpServer.address().port}`);
});
