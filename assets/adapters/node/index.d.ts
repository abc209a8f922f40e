// Type declarations of wscope-node 0.2.0. They need only @types/node: the `ws` and Socket.IO
// objects are described by the members the package uses, so any ws 8 / socket.io 4 object fits.

import type { EventEmitter } from 'events';
import type { IncomingMessage, Server as HttpServer } from 'http';

/** A `ws` 8 WebSocketServer (standalone `{port}`, `{server}` or `{noServer: true}`). */
export interface WebSocketServerLike extends EventEmitter {
  handleUpgrade(request: IncomingMessage, socket: any, head: Buffer, callback: (ws: any, request: IncomingMessage) => void): void;
  shouldHandle(request: IncomingMessage): boolean | Promise<boolean>;
}

/** A Socket.IO 4 `Server`. */
export interface SocketIoServerLike {
  of(namespace: any): any;
  use(fn: any): any;
  sockets: EventEmitter;
  engine?: any;
}

/** What an app holds for one connection: a `ws` WebSocket, a Socket.IO socket, or its Engine.IO socket. */
export type ConnectionHandle = object;

/** The `ws` module (`require('ws')`). */
export interface WsModule {
  WebSocketServer?: new (options: any) => WebSocketServerLike;
  Server?: new (options: any) => WebSocketServerLike;
}

export interface HeartbeatOptions {
  /** How often your server pings each client, in ms (announced in `hello.heartbeat`). */
  pingIntervalMs: number;
  /** How long it waits for the pong, in ms. */
  pongTimeoutMs?: number;
}

export interface InstrumentOptions {
  /** Token every subscriber must present. Default: `WSCOPE_TOKEN`. Required. */
  token?: string;
  /** Address of the admin feed. Default: the host of `WSCOPE_ADMIN_ADDR`, else `127.0.0.1`. */
  host?: string;
  /** Port of the admin feed; 0 picks a free one. Default: the port of `WSCOPE_ADMIN_ADDR`, else 9300. */
  port?: number;
  /** The server's name in wscope. Default: `os.hostname()`. */
  server?: string;
  /** Software and version, e.g. `chat/2.3.1`. */
  software?: string;
  /** Your server's pings; `null` or absent: none (a Socket.IO server announces Engine.IO's own). */
  heartbeat?: HeartbeatOptions | null;
  /** An application identity (user or device id) of a connection, from its upgrade request. */
  clientId?: (req: IncomingMessage) => string | number | null | undefined;
  /** Live events queued per subscriber before they are dropped (and counted). Default 10000. */
  queueLimit?: number;
  /** Frames sent to a subscriber and not yet in the kernel. Default 64. */
  maxInFlight?: number;
  /** Messages are counted per connection and reported every `aggregateMs`. Default 500. */
  aggregateMs?: number;
  /** A `process` event (RSS, open fds) every `processEveryMs`; 0: none. Default 10000. */
  processEveryMs?: number;
  /** `false` reports only the fires of timers whose connection closed (leaks). Default true. */
  recordTimerFires?: boolean;
  /** `false`: no history for late subscribers. Default true. */
  history?: boolean;
  /** Age limit of the history, in ms. Default 600000 (10 minutes). */
  historyMs?: number;
  /** Size limit of the history's serialised events, in bytes. Default 67108864 (64 MiB). */
  historyBytes?: number;
  /** A `noServer` WebSocketServer's http.Server, so that upgrades your own code refuses are seen. */
  httpServer?: HttpServer;
  /** A further WebSocketServer to watch (e.g. when `target` is the http.Server). */
  wss?: WebSocketServerLike;
  /** The `ws` module the admin feed's endpoint uses when the target has none to take it from. */
  ws?: WsModule;
}

export interface ShutdownOptions {
  /** Close code sent to every client. Default 1001. */
  code?: number;
  /** Close reason. Default `'server shutting down'`. */
  reason?: string;
  /** How long to wait for the clients' closes, in ms. Default 5000. */
  timeoutMs?: number;
}

export interface TimerOptions {
  /** The timer's kind in wscope (`heartbeat`, `presence`...). */
  kind?: string;
  /** Prefix of its id. Default `timer`. */
  name?: string;
  /** Arguments passed to `fn`. */
  args?: unknown[];
}

export interface FeedAddress {
  host: string;
  port: number;
}

export type AppState = 'background' | 'foreground';

export declare class WscopeFeed extends EventEmitter {
  /** The admin feed's address once it listens; rejects if it cannot listen. */
  readonly ready: Promise<FeedAddress>;
  readonly host: string;
  readonly port: number;
  readonly subscriberCount: number;
  /** The address once listening, else `undefined`. */
  address(): FeedAddress | undefined;
  /** Reports that the client app behind `conn` went to the background or came back; `false` if unknown or closed. */
  appState(conn: ConnectionHandle, state: AppState): boolean;
  setInterval<A extends unknown[]>(conn: ConnectionHandle | null, fn: (...args: A) => void, ms: number, options?: TimerOptions): NodeJS.Timeout;
  setTimeout<A extends unknown[]>(conn: ConnectionHandle | null, fn: (...args: A) => void, ms: number, options?: TimerOptions): NodeJS.Timeout;
  clearInterval(handle: NodeJS.Timeout | undefined | null): void;
  clearTimeout(handle: NodeJS.Timeout | undefined | null): void;
  /** Closes every client, waits until their closes reached every subscriber (or the timeout), then ends the feed. */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Stops the admin feed; the instrumented server keeps running. */
  close(): Promise<void>;
  on(event: 'subscriber', listener: (info: { remote?: string; history: boolean }) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** Instruments a `ws` WebSocketServer, the http.Server doing its upgrades, or a Socket.IO 4 Server. */
export declare function instrument(
  target: WebSocketServerLike | HttpServer | SocketIoServerLike,
  options?: InstrumentOptions
): WscopeFeed;

/** @deprecated since 0.2.0: use `instrument` (same arguments). */
export declare function attach(
  target: WebSocketServerLike | HttpServer | SocketIoServerLike,
  options?: InstrumentOptions
): WscopeFeed;

/** The feed protocol version (1). */
export declare const PROTOCOL: 1;
/** This process's boot tag, the prefix of its connection ids. */
export declare const BOOT: string;
/** The default admin port (9300). */
export declare const DEFAULT_PORT: 9300;
