// A client of weft-server (see docs/format.md, "Signaling messages"): joins
// one room, relays WebRTC negotiation, carries the sync frames of the
// server's replica of the room when the server has one, and reconnects
// when the server goes away: to the next of several servers (in an order
// of its own) at once, and with backoff once each of them failed in a row.

import { withCode } from "../errors.js";
import { Backoff } from "./backoff.js";
import { ServerLink, splitChannel } from "./server-link.js";

/** `items` in a random order (Fisher-Yates, from the front). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = 0; i < out.length - 1; i++) {
    const j = i + Math.floor(Math.random() * (out.length - i));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** What a token lets a peer do in the room, as the server attests it. */
export type Role = "read" | "write";

/** A member of the room as the signaling server describes it. */
export interface SignalPeer {
  peer: string;
  browser?: string;
  /** Set when the server checks tokens: what this peer's token grants. */
  role?: Role;
}

/**
 * An access token for the room (see the README): the token, or a function
 * that fetches one, called again before each reconnection (so an expired
 * token is replaced).
 */
export type TokenSource = string | (() => string | Promise<string>);

/** The close code of a join the server refused (no valid token) or of a reader that wrote. */
const FORBIDDEN = 4003;

export interface SignalingHandlers {
  /** The socket is open and the room joined (again): these are there; `role` is this peer's, when the server checks tokens. */
  joined(peers: SignalPeer[], role: Role | undefined): void;
  peerJoined(peer: SignalPeer): void;
  peerLeft(peer: string): void;
  signal(from: string, data: unknown): void;
  /** The server keeps the room: its replica, or its sealed records, over this link (again after each reconnect). */
  server(link: ServerLink): void;
  /** The socket closed; it is being reopened (on the same server or the next). */
  lost(reason: string): void;
  /** `url`: the server it concerns. */
  error(error: SignalingError): void;
}

/** An error of the signaling connection, with the server it concerns. */
export type SignalingError = Error & { code: string; url: string };

/** Keeps the server from closing an idle connection (its limit is 60 s). */
const PING_MS = 20_000;

/**
 * How long a server may take to answer (its `welcome`) when there are
 * others to try: one that accepts connections but never answers is left
 * for the next, as one that refuses them is at once.
 */
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * How long a room must have been joined for its server to count as
 * working: when that connection ends, the next attempts start a new round
 * of the servers, and the backoff its first delay. A server that drops
 * each connection sooner counts as failed.
 */
const STABLE_MS = 5_000;

export class SignalingClient {
  /** The servers to try, in order (those this environment refuses to connect to are dropped). */
  #urls: string[];
  /** The one connected to, or tried next. */
  #index: number;
  /** Servers that failed one after another since one last worked for a while. */
  #failures = 0;
  #socket: WebSocket | undefined;
  #closed = false;
  #open = false;
  /** When the room was joined on the current socket (`performance.now()`). */
  #joinedAt: number | undefined;
  #backoff = new Backoff(250, 10_000);
  #ping: ReturnType<typeof setInterval> | undefined;
  #answerTimer: ReturnType<typeof setTimeout> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #server: ServerLink | undefined;
  /** The socket this client closed to start a broken server session over. */
  #restarted: WebSocket | undefined;

  constructor(
    /** The servers of the room (at least one); several are tried in turn, in a random order. */
    urls: readonly string[],
    readonly room: string,
    readonly peer: string,
    readonly browser: string | undefined,
    /**
     * What the server keeps of the room, where it keeps rooms: `"sync"`, a
     * replica to sync with; `{ sealed }`, opaque records of an encrypted room
     * under the name of its key; `"none"`: nothing, it only introduces peers.
     */
    readonly kept: "sync" | { sealed: string } | "none",
    readonly token: TokenSource | undefined,
    readonly handlers: SignalingHandlers,
  ) {
    // An order of its own: clients spread over the servers at the start,
    // and the clients of a server that fails spread over the others (with
    // one order for all, they would all move to the same next server).
    this.#urls = shuffled(urls);
    this.#index = 0;
    this.#connect();
  }

  /** Whether the room is joined now. */
  get open(): boolean {
    return this.#open;
  }

  /** The server connected to, or tried next. */
  get url(): string {
    return this.#urls[this.#index] ?? "";
  }

  /** The server whose room is joined now, or null. */
  get joinedUrl(): string | null {
    return this.#open ? this.url : null;
  }

  /** Relays `data` to `to`; dropped while disconnected (negotiation restarts on reconnect). */
  signal(to: string, data: unknown): void {
    this.#send({ type: "signal", room: this.room, to, data });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#answerTimer);
    clearInterval(this.#ping);
    this.#socket?.close(1000, "disconnect");
    this.#socket = undefined;
    this.#open = false;
    this.#endServer("disconnected");
  }

  #endServer(reason: string): void {
    const server = this.#server;
    this.#server = undefined;
    server?.ended(reason);
  }

  #send(message: object): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  /** An error about the current server. */
  #error(message: string, code: string, cause?: unknown): SignalingError {
    const err = withCode(new Error(message, cause === undefined ? undefined : { cause }), code);
    return Object.assign(err, { url: this.url });
  }

  #connect(): void {
    const url = this.url;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      // A malformed URL, or one this environment refuses: retrying it cannot help.
      this.handlers.error(this.#error(`invalid signaling URL ${url}: ${String(err)}`, "SIGNALING_URL"));
      this.#urls.splice(this.#index, 1);
      if (this.#urls.length === 0) {
        this.#closed = true;
        return;
      }
      this.#index %= this.#urls.length;
      this.#moveOn();
      return;
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    if (this.#urls.length > 1) {
      this.#answerTimer = setTimeout(() => this.#noAnswer(socket), ANSWER_TIMEOUT_MS);
    }
    socket.addEventListener("open", () => {
      if (this.#socket === socket) this.#ping = setInterval(() => this.#send({ type: "ping" }), PING_MS);
    });
    socket.addEventListener("message", (e: MessageEvent) => {
      // A socket given up on may still deliver what was on its way.
      if (this.#socket !== socket) return;
      if (e.data instanceof ArrayBuffer) this.#frame(new Uint8Array(e.data));
      else this.#message(e.data);
    });
    // A browser fires `close` right after `error` (handled there, this
    // then does nothing); Node 20's WebSocket fires no `close` when the
    // connection is refused.
    socket.addEventListener("error", () => setTimeout(() => this.#lost(socket, 1006, ""), 0));
    socket.addEventListener("close", (e: CloseEvent) => this.#lost(socket, e.code, e.reason));
  }

  /** The server did not answer in time: given up on for the next. */
  #noAnswer(socket: WebSocket): void {
    this.#lost(socket, 1006, `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
    socket.close();
  }

  /** `socket` closed (or failed, or was given up on): reconnects, to this server or the next. */
  #lost(socket: WebSocket, code: number, closeReason: string): void {
    // Not current: closed by `close()`, or its end was handled already.
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    clearInterval(this.#ping);
    clearTimeout(this.#answerTimer);
    const wasOpen = this.#open;
    this.#open = false;
    this.#endServer(closeReason || "connection lost");
    this.#countStable();
    const reason = closeReason || (wasOpen ? "connection lost" : "unreachable");
    this.handlers.lost(reason);
    if (code === FORBIDDEN) {
      // "token-expired: ...": the code, then why.
      const what = (reason.split(":")[0] ?? "forbidden").toUpperCase().replace(/-/g, "_");
      this.handlers.error(this.#error(`signaling server refused: ${reason}`, `SIGNALING_${what}`));
      // The same token would be refused again; a function may fetch a new one.
      if (typeof this.token !== "function") {
        this.#closed = true;
        return;
      }
      // The token, not the server, was refused: the same server again.
      this.#retry = setTimeout(() => this.#connect(), this.#backoff.next());
      return;
    }
    if (this.#restarted === socket) {
      // Closed by this client to start over (said already, by whoever
      // broke the session): the same server again.
      this.#retry = setTimeout(() => this.#connect(), this.#backoff.next());
      return;
    }
    if (!wasOpen || code !== 1000) {
      this.handlers.error(this.#error(`signaling server ${this.url}: ${reason} (code ${code})`, "SIGNALING_UNAVAILABLE"));
    }
    this.#failed();
  }

  /** The current socket is gone: a room joined long enough means the servers work again. */
  #countStable(): void {
    if (this.#joinedAt !== undefined && performance.now() - this.#joinedAt >= STABLE_MS) {
      this.#failures = 0;
      this.#backoff.reset();
    }
    this.#joinedAt = undefined;
  }

  /** The current server failed (could not be reached, or dropped the connection): the next one. */
  #failed(): void {
    this.#failures++;
    this.#index = (this.#index + 1) % this.#urls.length;
    this.#moveOn();
  }

  /** Connects to the current server: at once, or after a backoff once each one failed in a row. */
  #moveOn(): void {
    let delay = 0;
    if (this.#failures >= this.#urls.length) {
      this.#failures = 0;
      delay = this.#backoff.next();
    }
    this.#retry = setTimeout(() => this.#connect(), delay);
  }

  /** A sync frame from the server's replica. */
  #frame(message: Uint8Array): void {
    const split = splitChannel(message);
    if (split && split.channel === this.#server?.channel) this.#server.events?.message(split.frame.slice());
  }

  /** Starts over with a new socket (a sync session with the server broke). */
  #restart(socket: WebSocket, _reason: string): void {
    if (this.#socket !== socket) return;
    this.#restarted = socket;
    // A close reason is at most 123 bytes: a fixed one, whatever failed.
    socket.close(4002, "sync session restarted");
  }

  /** Joins the room, with a token when the server needs one. */
  async #join(sync: boolean, auth: boolean): Promise<void> {
    const socket = this.#socket;
    let token: string | undefined;
    if (auth && this.token !== undefined) {
      try {
        token = typeof this.token === "function" ? await this.token() : this.token;
        if (typeof token !== "string") throw new TypeError(`got ${typeof token}`);
      } catch (err) {
        this.handlers.error(this.#error(`the token function failed: ${String(err)}`, "TOKEN_UNAVAILABLE", err));
        // Tried again with backoff, like a lost connection (said once: here).
        this.#restarted = socket;
        socket?.close(1000, "no token");
        return;
      }
    }
    if (this.#socket !== socket) return; // reconnected or closed meanwhile
    this.#send({
      type: "join",
      room: this.room,
      peer: this.peer,
      ...(this.browser ? { browser: this.browser } : {}),
      ...(!sync || this.kept === "none" ? {} : this.kept === "sync" ? { sync: true } : { sealed: this.kept.sealed }),
      ...(token !== undefined ? { token } : {}),
    });
  }

  #message(data: unknown): void {
    let m: { type?: string; [k: string]: unknown };
    try {
      m = JSON.parse(String(data));
    } catch {
      return; // not from a weft-server server; its messages are always JSON
    }
    if (m.room !== undefined && m.room !== this.room) return;
    switch (m.type) {
      case "joined": {
        this.#open = true;
        this.#joinedAt = performance.now();
        this.handlers.joined(((m.peers as unknown[]) ?? []).map(signalPeer), role(m.role));
        const socket = this.#socket;
        if (typeof m.channel === "number" && socket) {
          this.#endServer("superseded");
          const link = new ServerLink(
            this.url,
            m.channel,
            (bytes) => {
              if (this.#socket === socket && socket.readyState === WebSocket.OPEN) socket.send(bytes);
            },
            (reason) => this.#restart(socket, reason),
          );
          this.#server = link;
          this.handlers.server(link);
        }
        break;
      }
      case "peer-joined":
        this.handlers.peerJoined(signalPeer(m));
        break;
      case "peer-left":
        this.handlers.peerLeft(String(m.peer));
        break;
      case "signal":
        this.handlers.signal(String(m.from), m.data);
        break;
      case "welcome":
        // The server answered: it stays the one tried, however long the token takes.
        clearTimeout(this.#answerTimer);
        if (m.version !== 1) {
          this.handlers.error(this.#error(`signaling server speaks version ${String(m.version)}, this client 1`, "SIGNALING_VERSION"));
        }
        // Joined once the server has said what it offers: sync only where it holds replicas.
        void this.#join(m.sync === true, m.auth === true);
        break;
      case "error":
        this.handlers.error(this.#error(`signaling server: ${String(m.reason)}`, `SIGNALING_${String(m.code).toUpperCase().replace(/-/g, "_")}`));
        break;
    }
  }
}

function role(value: unknown): Role | undefined {
  return value === "read" || value === "write" ? value : undefined;
}

/** A peer of a `joined` or `peer-joined` message. */
function signalPeer(value: unknown): SignalPeer {
  const m = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const peer: SignalPeer = { peer: String(m.peer) };
  if (m.browser) peer.browser = String(m.browser);
  const r = role(m.role);
  if (r) peer.role = r;
  return peer;
}
