// The Socket.IO 4.x peer server of the benchmark (bench/src/socketio_server.rs starts it): a
// client `join`s a room and `say`s a message with an acknowledgement; the server broadcasts it to
// the room's other members and acks the sender. Nothing is stored, as in the native baseline, so
// it shows what a stock Socket.IO deployment costs on the same load.
//
//   node server.js --port 3000 [--host 127.0.0.1] [--exit-on-stdin-end]
//
// Websocket transport only (the load generator speaks Engine.IO 4 over a raw websocket).
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

// A room name is an id, not a document; and one client joins a handful of rooms.
const MAX_ROOM_NAME = 256;
const MAX_ROOMS_PER_CLIENT = 100;
// Bodies are small chat messages; the transport's own limit (maxHttpBufferSize, 1 MB by
// default) bounds a frame, this bounds what one `say` fans out to every member.
const MAX_BODY = 64 * 1024;

function option(name) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const port = Number(option('--port') ?? process.env.PORT);
const host = option('--host') ?? process.env.HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.js --port <1-65535> [--host <address>] [--exit-on-stdin-end]');
  process.exit(2);
}

const io = new Server(http.createServer(), {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
});

let said = 0;

function isRoomName(room) {
  return typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM_NAME;
}

io.on('connection', (socket) => {
  // An event sent without an ack callback gets no answer, but is still handled.
  const answerer = (ack) => (typeof ack === 'function' ? ack : () => {});

  socket.on('join', (room, ack) => {
    const answer = answerer(ack);
    if (!isRoomName(room)) {
      return answer({ error: `a room is a string of 1 to ${MAX_ROOM_NAME} characters` });
    }
    // socket.rooms holds the client's own room (its id) as well.
    if (!socket.rooms.has(room) && socket.rooms.size > MAX_ROOMS_PER_CLIENT) {
      return answer({ error: `a client joins at most ${MAX_ROOMS_PER_CLIENT} rooms` });
    }
    socket.join(room);
    answer({ room });
  });

  socket.on('say', (message, ack) => {
    const answer = answerer(ack);
    const { room, body } = message ?? {};
    if (!isRoomName(room) || typeof body !== 'string' || body.length > MAX_BODY) {
      return answer({ error: `say takes {room, body}: a joined room and a body of at most ${MAX_BODY} characters` });
    }
    if (!socket.rooms.has(room)) {
      return answer({ error: `join ${room} first` });
    }
    said += 1;
    // Every member but the sender, as a chat server echoes nothing back to its author.
    socket.to(room).emit('said', { room, from: socket.id, id: said, body });
    answer({ id: said });
  });
});

io.httpServer.listen(port, host, () => {
  // The benchmark waits for this line before it connects.
  console.log(`listening on ${host}:${port}`);
});

if (process.argv.includes('--exit-on-stdin-end')) {
  // The benchmark holds our stdin open: when it ends, even killed outright, so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
