import { connect, createServer } from "node:net";

const LOOPBACK = "127.0.0.1";

// Ports are drawn below Linux's ephemeral range (32768–60999). A kernel-chosen port (listen on 0) would come from
// that range, where any outgoing connection may take it as its local port between our check and the server's bind,
// or while a killed server is down and waiting to restart on the same port.
const LOWEST_PORT = 10_000;
const HIGHEST_PORT = 32_767;
const ATTEMPTS = 50;

/** A loopback port that nothing listens on right now, away from the ports outgoing connections borrow. */
export function freePort(): Promise<number> {
  return freePortWithPartner(0);
}

/** A free loopback port p whose partner p + offset is free too (a Redis cluster bus listens on p + 10000). */
export async function freePortWithPartner(offset: number): Promise<number> {
  const highest = HIGHEST_PORT - offset;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (highest - LOWEST_PORT + 1));
    if ((await canListen(port)) && (offset === 0 || (await canListen(port + offset)))) return port;
  }
  throw new Error(`no free loopback port between ${LOWEST_PORT} and ${highest} after ${ATTEMPTS} tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts a TCP connection on the loopback port. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: LOOPBACK });
    socket.setTimeout(1000);
    const settle = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once("connect", () => settle(true));
    socket.once("error", () => settle(false));
    socket.once("timeout", () => settle(false));
  });
}
