#!/usr/bin/env node
// A socket.io 4.8 server that writes the audio it receives to a WAV file.
//
//   node server_node.js [--host 127.0.0.1] [--port 5000] [--wav out.wav]
//       [--event audio_data]
//
// socket.io comes from npm (`npm install socket.io@4.8`); from a checkout of
// gst-socketio, use the copy the tests installed:
//   NODE_PATH=tests/server/node_modules node examples/python/server_node.js
//
// It prints "LISTENING <port>" once it accepts connections (--port 0: a free
// port). Each event {audio_data, seq, pts, duration, format, rate, channels,
// replay} is written in order, acknowledged once written, and dropped if its
// seq was already written (a replay after a reconnection). Gaps (audio that
// the client dropped) are logged. The WAV header is rewritten after every
// write, so the file is complete at any time; SIGINT/SIGTERM close it.
// One stream at a time: a client that starts again at seq 0 continues the
// same file.

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
let lastSeq = -1; // the highest seq written
let nextPts = null; // where the audio written so far ends, in ns

function writeAudio(msg) {
  if (msg.format !== 'S16LE') {
    console.error(`seq ${msg.seq}: ${msg.format} is not S16LE: skipped`);
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
  const audio = msg.audio_data;
  fs.writeSync(wav.fd, audio, 0, audio.length, 44 + wav.bytes);
  wav.bytes += audio.length;
  fs.writeSync(wav.fd, wavHeader(wav.rate, wav.channels, wav.bytes), 0, 44, 0);
}

function onAudio(msg, ack) {
  if (msg.seq <= lastSeq && msg.replay) {
    console.log(`seq ${msg.seq}: replayed, already written: dropped`);
  } else {
    if (msg.seq <= lastSeq) {
      // the sink never repeats a seq without "replay": a new stream
      console.log(`seq ${msg.seq}: a new stream`);
      nextPts = null;
    } else if (lastSeq >= 0 && msg.seq !== lastSeq + 1) {
      console.log(`gap: seq ${lastSeq + 1} to ${msg.seq - 1} never arrived`);
    }
    if (nextPts !== null && msg.pts !== nextPts) {
      console.log(`gap: ${(msg.pts - nextPts) / 1e6} ms of audio missing ` +
        `before seq ${msg.seq}`);
    }
    writeAudio(msg);
    lastSeq = msg.seq;
    nextPts = msg.pts + msg.duration;
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
