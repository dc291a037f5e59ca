// Peer-to-peer sync: `connect(doc, { room, signalingUrl })` keeps the
// document in sync with everyone in the room, over WebRTC data channels
// (found through weft-server) and, between tabs of one browser, over a
// BroadcastChannel. Each connection runs the core's sync protocol.

import type { RawReceived } from "../wasm/weft_wasm.js";
import { docInternals, type ChangeEvent, type Doc } from "./doc.js";
import { checkIndex, checkOptions, checkString, isCoded, rangeError, typeError, withCode, type WeftError } from "./errors.js";
import { Emitter, type Listener } from "./events.js";
import type { Patch } from "./delta.js";
import { Backoff } from "./sync/backoff.js";
import { Connection } from "./sync/connection.js";
import type { Link, LinkEvents } from "./sync/link.js";
import { encodePresence, RemotePresence, type PresenceState } from "./sync/presence.js";
import { randomId } from "./sync/random-id.js";
import { OPEN_TIMEOUT_MS, RtcLink, type RtcSignal } from "./sync/rtc.js";
import { deriveRoomKey } from "./sync/secret.js";
import { SealedSync } from "./sync/sealed-sync.js";
import { ServerLink } from "./sync/server-link.js";
import { SignalingClient, type Role, type SignalPeer, type TokenSource } from "./sync/signaling.js";
import { TabHub } from "./sync/tabs.js";

export type { PresenceState } from "./sync/presence.js";
export type { Role, TokenSource } from "./sync/signaling.js";

/** Options for `connect`. */
export interface ConnectOptions {
  /** Everyone who connects with the same room name edits together. */
  room: string;
  /**
   * The `weft-server` WebSocket URL (`ws://host:port/signal`), or the URLs
   * of several servers of one deployment (servers sharing a database with
   * `--redis`, any of which serves every room). With several, the provider
   * tries them in a random order of its own (so clients spread over them,
   * and a dead server's clients over the others), moving to the next when
   * a connection fails to open or drops, and waits (with
   * backoff) only once each one failed in a row; `provider.serverUrl` says
   * which one it is on. Without it, only tabs of this browser sync.
   */
  signalingUrl?: string | readonly string[];
  /** STUN/TURN servers for WebRTC (default none: fine on one network). */
  iceServers?: RTCIceServer[];
  /** Most WebRTC connections to keep (default 8); tabs do not count. */
  maxPeers?: number;
  /** Encrypts everything sent to peers; peers without it can neither read nor write. */
  secret?: string;
  /** This peer's presence from the start. */
  presence?: PresenceState;
  /**
   * Whether the server keeps the room (default true): a replica it syncs
   * with, or for a room with a `secret`, sealed records it cannot read. With
   * false it only introduces peers, and the room lives in the browsers alone.
   */
  storeOnServer?: boolean;
  /**
   * An access token, for a server started with `--auth-secret-file`: a
   * string, or a function returning one (or a promise of one), called
   * before each (re)connection so an expired token can be replaced. A
   * token that is refused is reported as an `error` (`SIGNALING_TOKEN_EXPIRED`,
   * `SIGNALING_TOKEN_INVALID`, `SIGNALING_TOKEN_WRONG_ROOM`,
   * `SIGNALING_TOKEN_MISSING`); a string is not tried again.
   */
  token?: TokenSource;
}

/**
 * `connecting`: not yet in touch with anyone. `syncing`: a connection is
 * exchanging what the other side lacks. `synced`: every connection is in
 * sync. `offline`: after `disconnect()`, or once the document was freed or
 * broke (an `error` event says which).
 */
export type SyncStatus = "connecting" | "syncing" | "synced" | "offline";

/** A peer that came or went. */
export interface PeerEvent {
  peer: string;
  /**
   * `"webrtc"` for other browsers, `"tab"` for tabs of this one, `"server"`
   * for the server's replica of the room (peer id `"server"`).
   */
  via: "webrtc" | "tab" | "server";
  /** Why the connection ended (`peerLeave` only). */
  reason?: string;
  /** The server's URL (`via: "server"` only): which of `signalingUrl` keeps this replica. */
  url?: string;
}

/** A connected peer, as `provider.peers` lists it. */
export interface PeerInfo extends PeerEvent {
  /** Whether this connection has caught up with the peer. */
  synced: boolean;
  /** Bytes of sync frames sent to and received from it (before encryption). */
  bytesSent: number;
  bytesReceived: number;
}

/** A peer's presence changed (`state` null: it left). */
export interface PresenceEvent {
  peer: string;
  state: PresenceState | null;
}

/**
 * An error of the provider; `peer` is set when one peer caused it, `url`
 * when one server did (the `SIGNALING_*` codes and `TOKEN_UNAVAILABLE`).
 */
export type ProviderError = Error & { code: string; peer?: string; url?: string };

/** The server reported what it has stored. */
export interface ServerDurableEvent {
  /** The version (encoded, as `doc.version()`) the server has on disk. */
  version: Uint8Array;
  /** Whether that includes everything this document holds now (`provider.savedOnServer`). */
  saved: boolean;
}

/** Events of a `Provider`. */
export interface ProviderEvents {
  status: SyncStatus;
  /** The server said what this peer's token grants (see `provider.role`). */
  role: Role;
  serverDurable: ServerDurableEvent;
  peerJoin: PeerEvent;
  peerLeave: PeerEvent;
  presence: PresenceEvent;
  error: ProviderError;
}

/** One connection, and what the provider keeps about its peer. */
class PeerConnection extends Connection {
  presence: RemotePresence | undefined;
  /** Repeats the Hello until the handshake is done (see `#accept`). */
  helloTimer: ReturnType<typeof setInterval> | undefined;
}

/** The peer id of the server's replica of the room. */
const SERVER_PEER = "server";

/** How often a Hello is repeated while the handshake is not done. */
const HELLO_REPEAT_MS = 1_000;

/** One id for all tabs of this browser profile, so they skip WebRTC between them. */
function browserId(): string | undefined {
  try {
    const storage = globalThis.localStorage;
    let id = storage.getItem("weft:browser-id");
    if (!id) storage.setItem("weft:browser-id", (id = randomId()));
    return id;
  } catch {
    return undefined; // no storage (a worker, or blocked): tabs connect over WebRTC
  }
}

/** A presence state: an object, its selection (if any) two indices. */
function checkPresence(state: unknown): PresenceState {
  if (state === undefined) throw typeError("a presence state must be an object, got undefined");
  const checked = checkOptions<PresenceState>(state, "presence state");
  const { selection } = checked;
  if (selection !== undefined && selection !== null) {
    checkOptions(selection, "selection");
    checkIndex(selection.anchor, "selection.anchor");
    checkIndex(selection.head, "selection.head");
  }
  return checked as PresenceState;
}

/** URL schemes a WebSocket accepts (http and https stand for ws and wss). */
const WEBSOCKET_SCHEMES = ["ws:", "wss:", "http:", "https:"];

/**
 * The servers to connect to, from the `signalingUrl` option (none: tabs
 * only). A string is taken as it is (an empty one names no server; one
 * the WebSocket refuses is an `error` event, `SIGNALING_URL`); in an array,
 * every entry must be an absolute WebSocket URL.
 */
function checkSignalingUrl(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") return value === "" ? [] : [value];
  if (!Array.isArray(value)) {
    throw typeError(`signalingUrl must be a URL or an array of URLs (strings), got ${value === null ? "null" : typeof value}`);
  }
  if (value.length === 0) throw rangeError("signalingUrl must name at least one server, got an empty array");
  return value.map((url: unknown, i) => {
    checkString(url, `signalingUrl[${i}]`);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url as string);
    } catch {
      // Not absolute, or not a URL.
    }
    if (!parsed || !WEBSOCKET_SCHEMES.includes(parsed.protocol) || parsed.hash !== "") {
      throw rangeError(`signalingUrl[${i}] must be an absolute WebSocket URL (ws:// or wss://, no fragment), got "${url as string}"`, "SIGNALING_URL");
    }
    return url as string;
  });
}

/** What a `peerJoin` or `peerLeave` event says of a connection. */
function peerEvent(c: Connection, reason?: string): PeerEvent {
  const event: PeerEvent = { peer: c.peer, via: c.link.via };
  if (reason !== undefined) event.reason = reason;
  if (c.link instanceof ServerLink) event.url = c.link.url;
  return event;
}

/** Starts syncing `doc` with the room; see `ConnectOptions`. */
export function connect(doc: Doc, options: ConnectOptions): Provider {
  return new Provider(doc, options);
}

/** Codes of a document that can no longer be used: the provider stops. */
function isDocEnd(err: unknown): err is WeftError {
  return isCoded(err) && (err.code === "DOCUMENT_FREED" || err.code === "DOCUMENT_BROKEN");
}

/**
 * Keeps a document in sync with a room. Create with `connect`. What it
 * merges from peers reaches the document's listeners with the provider as
 * the change's `origin` (`local` false). The
 * document's binding object is looked up on every use, never kept: once
 * the document is freed or broken, the provider disconnects (status
 * `offline`) and reports it once as an `error` with the document's code.
 */
export class Provider {
  /** This peer's id in the room (random per provider). */
  readonly peer = randomId();
  readonly doc: Doc;
  readonly room: string;
  #options: ConnectOptions;
  /** The servers of `signalingUrl`, checked. */
  #servers: string[];
  #browser = browserId();
  #key: CryptoKey | undefined;
  #signaling: SignalingClient | undefined;
  /** The server whose sealed records `#sealed` follows (their numbers are that server's). */
  #sealedServer: string | undefined;
  #tabs: TabHub | undefined;
  #connections = new Map<string, PeerConnection>();
  /** Other browsers in the signaling room. */
  #roomPeers = new Map<string, SignalPeer>();
  /** Peers whose frames could not be decrypted: not retried until they rejoin. */
  #rejected = new Set<string>();
  #retries = new Map<string, { backoff: Backoff; timer?: ReturnType<typeof setTimeout> }>();
  /** This peer's presence as sent: encoded (its selection anchored) when it was set. */
  #presence: Uint8Array | undefined;
  #status: SyncStatus = "connecting";
  /** Peers in the room this one could not connect to (yet). */
  #unreachable = new Set<string>();
  /** The latest version the server reported stored. */
  #serverStored: Uint8Array | undefined;
  /** What this peer's token grants, once the server said. */
  #role: Role | undefined;
  /** An encrypted room's records on the server. */
  #sealed: SealedSync | undefined;
  #stopped = false;
  #flushQueued = false;
  #events = new Emitter<ProviderEvents>();
  /** Changes made elsewhere go out to the peers (the provider's own merges are forwarded by `#received`). */
  #onChange = (e: ChangeEvent) => {
    if (e.origin !== this) this.#queueFlush();
  };
  #stopWatching: () => void;

  constructor(doc: Doc, options: ConnectOptions) {
    const { room, signalingUrl, iceServers, maxPeers, secret, presence, token, storeOnServer } = checkOptions<ConnectOptions>(options, "options");
    if (typeof room !== "string") throw typeError("connect needs a room name (a string)");
    if (room.length === 0) throw rangeError("connect needs a room name (not empty)");
    const servers = checkSignalingUrl(signalingUrl);
    if (iceServers !== undefined && !Array.isArray(iceServers)) throw typeError("iceServers must be an array");
    if (maxPeers !== undefined) checkIndex(maxPeers, "maxPeers");
    if (secret !== undefined) checkString(secret, "secret");
    if (token !== undefined && typeof token !== "function") checkString(token, "token");
    if (storeOnServer !== undefined && typeof storeOnServer !== "boolean") throw typeError("storeOnServer must be a boolean");
    // A freed or broken document is refused with its code.
    docInternals.use(doc, () => {});
    this.doc = doc;
    this.room = room;
    this.#options = options;
    this.#servers = servers;
    this.#presence = presence === undefined ? undefined : encodePresence(doc, checkPresence(presence));
    doc.on("change", this.#onChange);
    this.#stopWatching = docInternals.onEnd(doc, (err) => this.#docEnded(err));
    // Nothing of the start may escape as an unhandled rejection.
    this.#start().catch((err) => this.#startFailed(err));
  }

  /** The current sync status. */
  get status(): SyncStatus {
    return this.#status;
  }

  /**
   * What this peer may do in the room, as the server attests it once
   * joined: `"read"` (nothing changed here is sent anywhere; make the
   * editor read-only) or `"write"`; `undefined` before, and on servers
   * that check no tokens (everyone writes).
   */
  get role(): Role | undefined {
    return this.#role;
  }

  /**
   * Whether the server has stored everything this document holds: its
   * latest `serverDurable` report includes every change made here and
   * merged here (false before any report, and while new changes travel).
   */
  get savedOnServer(): boolean {
    const stored = this.#serverStored;
    return stored !== undefined && docInternals.use(this.doc, (raw) => raw.coveredBy(stored));
  }

  /**
   * The server's keeping of the room, while connected: `sealed` for an
   * encrypted room (sealed records), else its replica; `synced` once
   * everything it holds has arrived here. `undefined` while not connected
   * to it (or `storeOnServer` is false).
   */
  get server(): { synced: boolean; sealed: boolean } | undefined {
    const replica = this.#connections.get(SERVER_PEER);
    if (replica?.open) return { synced: replica.synced, sealed: false };
    if (this.#sealed?.connected) return { synced: this.#sealed.caughtUp, sealed: true };
    return undefined;
  }

  /**
   * The URL of the server this provider is on (one of `signalingUrl`):
   * the one whose room it has joined; null while it has joined none
   * (connecting, moving to another server, after `disconnect()`, or
   * without `signalingUrl`).
   */
  get serverUrl(): string | null {
    return this.#signaling?.joinedUrl ?? null;
  }

  /**
   * Peers in the room that this one could not connect to (WebRTC failed
   * or is missing). While the server's replica is in sync their edits
   * still arrive through it; without it, `status` is not `synced`.
   */
  get unreachable(): string[] {
    return [...this.#unreachable];
  }

  /** Peers connected now, directly, and whether each is in sync yet. */
  get peers(): PeerInfo[] {
    return [...this.#connections.values()]
      .filter((c) => c.open)
      .map((c) => ({
        ...peerEvent(c),
        synced: c.synced,
        bytesSent: c.bytesSent,
        bytesReceived: c.bytesReceived,
      }));
  }

  /** Other peers' presence, with selections as indices into the text now. */
  get presence(): Map<string, PresenceState> {
    const out = new Map<string, PresenceState>();
    for (const c of this.#connections.values()) if (c.presence) out.set(c.peer, c.presence.resolve(this.doc));
    return out;
  }

  /**
   * Shares this peer's presence (replacing what was shared before). The
   * selection is anchored to the text now: peers who connect later see it
   * where those characters are then. Throws at once, with a code, for a
   * selection index the document does not have (`INDEX_OUT_OF_BOUNDS`,
   * `NOT_CHAR_BOUNDARY`) and for fields that are not JSON (a bigint, a
   * cycle: `INVALID_ARGUMENT`).
   */
  setPresence(state: PresenceState): void {
    this.#presence = encodePresence(this.doc, checkPresence(state));
    for (const c of this.#connections.values()) if (c.open) this.#guard(c, () => this.#sendPresence(c));
  }

  /** Leaves the room and closes every connection. */
  disconnect(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.doc.off("change", this.#onChange);
    this.#stopWatching();
    this.#signaling?.close();
    this.#tabs?.close();
    this.#sealed?.close();
    for (const c of [...this.#connections.values()]) c.link.close("disconnected");
    for (const r of this.#retries.values()) clearTimeout(r.timer);
    this.#retries.clear();
    this.#setStatus("offline");
  }

  [Symbol.dispose](): void {
    this.disconnect();
  }

  on<K extends keyof ProviderEvents>(event: K, listener: Listener<ProviderEvents[K]>): void {
    this.#events.on(event, listener);
  }

  off<K extends keyof ProviderEvents>(event: K, listener: Listener<ProviderEvents[K]>): void {
    this.#events.off(event, listener);
  }

  async #start(): Promise<void> {
    let fingerprint = "open";
    if (this.#options.secret !== undefined) {
      let derived: Awaited<ReturnType<typeof deriveRoomKey>>;
      try {
        derived = await deriveRoomKey(this.#options.secret, this.room);
      } catch (err) {
        // No Web Crypto (a page not served over HTTPS has no
        // `crypto.subtle`), or it refused: never fall back to plain text.
        throw withCode(
          new Error(`the room key could not be derived from the secret: ${String(err)}`, { cause: err }),
          "ENCRYPTION_UNAVAILABLE",
        );
      }
      this.#key = derived.key;
      fingerprint = derived.fingerprint;
    }
    if (this.#stopped) return;
    if (typeof BroadcastChannel === "function") {
      // Tabs with another secret use another channel and never meet.
      this.#tabs = new TabHub(`weft-sync:${this.room}:${fingerprint}`, this.peer, {
        accept: (peer, link) => this.#accept(peer, link),
        error: (err) => this.#failed(undefined, err),
      });
    }
    if (this.#servers.length > 0) {
      // Called from the socket's event handlers: nothing may throw out of them.
      const guarded =
        <A extends unknown[]>(f: (...args: A) => void) =>
        (...args: A) =>
          this.#guard(undefined, () => f(...args));
      // The server cannot read an encrypted room: it keeps its records sealed.
      const kept = this.#options.storeOnServer === false ? "none" : this.#key ? { sealed: fingerprint } : "sync";
      this.#signaling = new SignalingClient(this.#servers, this.room, this.peer, this.#browser, kept, this.#options.token, {
        joined: guarded((peers, role) => {
          this.#roomPeers.clear();
          // Those that left meanwhile (or are on another server) are no longer out of reach.
          for (const peer of this.#unreachable) if (!peers.some((p) => p.peer === peer)) this.#unreachable.delete(peer);
          if (role === "read" && this.#role !== "read") {
            // From now on nothing of this side's is sent, to tabs either.
            for (const c of this.#connections.values()) c.session.readsOnly();
          }
          if (role && role !== this.#role) {
            this.#role = role;
            this.#emit("role", role);
          }
          for (const p of peers) this.#peerJoined(p);
          this.#updateStatus();
        }),
        peerJoined: guarded((p) => this.#peerJoined(p)),
        peerLeft: guarded((peer) => {
          this.#unreachable.delete(peer);
          // The data channel may well outlive the peer's signaling socket.
          this.#roomPeers.delete(peer);
          this.#rejected.delete(peer);
          clearTimeout(this.#retries.get(peer)?.timer);
          this.#retries.delete(peer);
        }),
        signal: guarded((from, data) => this.#signal(from, data as RtcSignal)),
        server: guarded((link) => {
          if (this.#key) return this.#keepSealed(link, this.#key);
          const events = this.#accept(SERVER_PEER, link);
          link.events = events;
          events.open();
        }),
        lost: guarded(() => this.#updateStatus()),
        error: (err) => this.#emit("error", err),
      });
    }
    this.#updateStatus();
  }

  /**
   * Starting failed (the room key could not be derived, or the document
   * ended meanwhile): the provider goes offline, then says why, once.
   */
  #startFailed(err: unknown): void {
    if (isDocEnd(err)) return this.#docEnded(err);
    if (this.#stopped) return;
    this.disconnect();
    const coded = isCoded(err) ? err : withCode(new Error(`connecting failed: ${String(err)}`, { cause: err }), "INTERNAL");
    this.#emit("error", coded as ProviderError);
  }

  #peerJoined(p: SignalPeer): void {
    if (p.browser !== undefined && p.browser === this.#browser) return; // a tab: BroadcastChannel
    this.#roomPeers.set(p.peer, p);
    this.#rejected.delete(p.peer);
    this.#dial(p.peer);
    if (this.peer > p.peer) this.#awaitOffer(p.peer);
  }

  /**
   * The peer with the smaller id offers: if no connection to `peer` opens
   * in time (it has no WebRTC, or its offer cannot get through), it is
   * unreachable, as it is for the side that dials.
   */
  #awaitOffer(peer: string): void {
    setTimeout(
      () =>
        this.#guard(undefined, () => {
          if (this.#stopped || !this.#roomPeers.has(peer) || this.#connections.get(peer)?.open) return;
          this.#peerError(peer, "PEER_UNREACHABLE", `no connection within ${OPEN_TIMEOUT_MS / 1000} s`);
        }),
      OPEN_TIMEOUT_MS + 1_000,
    );
  }

  /** Opens a WebRTC connection if this side is the one to offer. */
  #dial(peer: string): void {
    if (this.#stopped || this.#connections.has(peer) || this.#rejected.has(peer)) return;
    if (!this.#roomPeers.has(peer) || this.peer > peer || this.#webrtcCount() >= this.#maxPeers()) return;
    this.#rtc(peer, true);
  }

  /**
   * A WebRTC connection to `peer`, or undefined (said as `PEER_UNREACHABLE`)
   * where the browser cannot make one: no WebRTC (Node), or `iceServers` it
   * refuses.
   */
  #rtc(peer: string, initiator: boolean): RtcLink | undefined {
    let events: LinkEvents | undefined;
    let link: RtcLink;
    try {
      link = new RtcLink(initiator, this.#options.iceServers ?? [], (data) => this.#signaling?.signal(peer, data), {
        open: () => events?.open(),
        message: (f) => events?.message(f),
        close: (r) => events?.close(r),
      });
    } catch (err) {
      this.#peerError(peer, "PEER_UNREACHABLE", `could not create a WebRTC connection: ${String(err)}`);
      return undefined;
    }
    events = this.#accept(peer, link);
    return link;
  }

  #signal(from: string, data: RtcSignal): void {
    if (this.#stopped || typeof data !== "object" || data === null) return;
    const existing = this.#connections.get(from);
    if (data.kind === "offer") {
      if (this.peer < from || this.#rejected.has(from)) return; // we offer to them, not they to us
      if (existing && !(existing.link instanceof RtcLink)) return;
      // The same offer again: our answer was lost on the way.
      if (existing?.link instanceof RtcLink && existing.link.isOfferTaken(data)) return existing.link.handleSignal(data);
      // A new offer replaces whatever connection there was: the peer restarted it.
      this.#connections.delete(from);
      existing?.close();
      existing?.link.close("renegotiating");
      if (!existing && this.#webrtcCount() >= this.#maxPeers()) return;
      this.#rtc(from, false)?.handleSignal(data);
    } else if (existing?.link instanceof RtcLink) {
      existing.link.handleSignal(data);
    }
  }

  /** Runs a sync session over a new link; what it merges has this provider as origin. */
  #accept(peer: string, link: Link): LinkEvents {
    const c: PeerConnection = new PeerConnection(peer, link, this.doc, this, this.#key, {
      received: (received) => this.#received(c, received),
      failed: (err) => {
        if (isCoded(err) && (err.code === "PEER_REJECTED" || err.code === "PEER_READ_ONLY")) this.#rejected.add(peer);
        this.#failed(c, err);
      },
    });
    if (this.#role === "read") c.session.readsOnly();
    // Where the server attests roles, another browser may write only if it
    // says so (the server's own replica and this browser's tabs may).
    if (link.via === "webrtc" && this.#role !== undefined && this.#roomPeers.get(peer)?.role !== "write") {
      c.session.peerReadsOnly();
    }
    this.#connections.set(peer, c);
    // Links call these from their own event handlers: nothing may throw
    // out of them (see `#guard`).
    return {
      open: () =>
        this.#guard(c, () => {
          if (this.#stopped || this.#connections.get(peer) !== c) return link.close("superseded");
          c.open = true;
          this.#unreachable.delete(peer);
          this.#retries.get(peer)?.backoff.reset();
          // Chromium may drop what arrives on a data channel before its own
          // `open` event: over WebRTC only the offering side speaks first (the
          // other answers its Hello, by then open for sure), and a Hello is
          // repeated until the handshake is done. Duplicates change nothing.
          if (!(link instanceof RtcLink) || link.initiator) c.hello();
          c.helloTimer = setInterval(
            () =>
              this.#guard(c, () => {
                if (c.synced) clearInterval(c.helloTimer);
                else c.hello();
              }),
            HELLO_REPEAT_MS,
          );
          this.#sendPresence(c);
          this.#emit("peerJoin", peerEvent(c));
          this.#updateStatus();
        }),
      message: (frame) => c.message(frame),
      close: (reason) => this.#guard(undefined, () => this.#closed(c, reason)),
    };
  }

  /**
   * Runs what a link event, a timer or a microtask does: an error must not
   * escape (from a timer it would end a Node process). A document freed or
   * broken stops the provider; anything else closes the connection.
   */
  #guard(c: Connection | undefined, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#failed(c, err);
    }
  }

  #failed(c: Connection | undefined, err: unknown): void {
    if (isDocEnd(err)) return this.#docEnded(err);
    // Coded: the sync protocol's refusal, or a frame that cannot be decrypted.
    if (c && isCoded(err)) return this.#fail(c, err.code, err.message);
    const code = isCoded(err) ? err.code : "INTERNAL";
    if (c) this.#fail(c, code, `handling the connection failed: ${String(err)}`);
    else this.#emit("error", withCode(new Error(`sync failed: ${String(err)}`, { cause: err }), code) as ProviderError);
  }

  /**
   * The document was freed or broke: nothing more can be sent or merged.
   * Disconnects, then says why, once (the document's own error: its code,
   * and for a broken one the failure as `cause`).
   */
  #docEnded(err: WeftError): void {
    if (this.#stopped) return;
    this.disconnect();
    this.#emit("error", err as ProviderError);
  }

  /**
   * Keeps an encrypted room on the server over `link`: it stores what this
   * peer seals and replays what others sealed (one `SealedSync` across
   * reconnections to one server, so only what is new is sent again; on
   * another server, the records and their numbers are that server's, so
   * a new one starts over from its first record).
   */
  #keepSealed(link: ServerLink, key: CryptoKey): void {
    if (this.#sealed && this.#sealedServer !== link.url) {
      this.#sealed.close();
      this.#sealed = undefined;
    }
    this.#sealedServer = link.url;
    const sealed = (this.#sealed ??= new SealedSync(this.doc, key, this, {
      caughtUp: () => this.#guard(undefined, () => this.#updateStatus()),
      stored: (version) => this.#guard(undefined, () => this.#serverReported(version)),
      error: (err) => this.#emit("error", err as ProviderError),
      failed: (err) => {
        if (isDocEnd(err)) return this.#docEnded(err);
        const coded = isCoded(err) ? err : withCode(new Error(`the server's records: ${String(err)}`, { cause: err }), "INTERNAL");
        this.#emit("error", coded as ProviderError);
        link.close(coded.message);
      },
    }));
    link.events = {
      open: () => {},
      message: (frame) => sealed.message(frame),
      close: () => {
        sealed.disconnect();
        this.#guard(undefined, () => this.#updateStatus());
      },
    };
    sealed.connect((frame) => link.send(frame));
    this.#updateStatus();
  }

  /** The server reported `version` stored. */
  #serverReported(version: Uint8Array): void {
    this.#serverStored = version;
    this.#emit("serverDurable", { version, saved: this.savedOnServer });
  }

  /** What a frame brought: forwarded to the others, presence said. */
  #received(c: PeerConnection, received: RawReceived): void {
    // Forward to the others even when nothing visible changed.
    this.#queueFlush();
    if (received.durable && c.link.via === "server") this.#serverReported(received.durable);
    if (received.presence) {
      try {
        c.presence = RemotePresence.decode(received.presence);
        this.#emit("presence", { peer: c.peer, state: c.presence.resolve(this.doc) });
      } catch (err) {
        this.#fail(c, "INVALID_PRESENCE", `invalid presence: ${(err as Error).message}`);
        return;
      }
    }
    this.#updateStatus();
  }

  /** Closes a connection the peer broke, and says why. */
  #fail(c: Connection, code: string, message: string): void {
    this.#peerError(c.peer, code, message);
    c.link.close(message);
  }

  #peerError(peer: string, code: string, message: string): void {
    if (code === "PEER_UNREACHABLE" && this.#roomPeers.has(peer)) {
      this.#unreachable.add(peer);
      this.#updateStatus();
    }
    const err = withCode(new Error(`peer ${peer}: ${message}`), code) as ProviderError;
    err.peer = peer;
    this.#emit("error", err);
  }

  #closed(c: PeerConnection, reason: string): void {
    clearInterval(c.helloTimer);
    // Not current: replaced by a newer connection to the same peer.
    const current = this.#connections.get(c.peer) === c;
    if (current) this.#connections.delete(c.peer);
    c.close();
    if (c.presence) this.#emit("presence", { peer: c.peer, state: null });
    if (c.open) this.#emit("peerLeave", peerEvent(c, reason));
    else if (current && c.link instanceof RtcLink && !this.#stopped) {
      // Never connected: say so (it is retried while the peer is in the room).
      this.#peerError(c.peer, "PEER_UNREACHABLE", `could not connect: ${reason}`);
    }
    if (!this.#stopped) {
      if (c.link instanceof RtcLink) this.#scheduleRedial(c.peer);
      this.#updateStatus();
    }
  }

  #scheduleRedial(peer: string): void {
    if (!this.#roomPeers.has(peer) || this.peer > peer || this.#rejected.has(peer)) return;
    let retry = this.#retries.get(peer);
    if (!retry) this.#retries.set(peer, (retry = { backoff: new Backoff(500, 30_000) }));
    clearTimeout(retry.timer);
    retry.timer = setTimeout(() => this.#guard(undefined, () => this.#dial(peer)), retry.backoff.next());
  }

  #sendPresence(c: Connection): void {
    // The server's replica keeps no presence: only people see it.
    if (!this.#presence || c.link.via === "server") return;
    if (!c.sendPresence(this.#presence))
      this.#emit("error", withCode(new Error("presence state over 64 KiB: not sent"), "PRESENCE_TOO_LARGE"));
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#stopped) return;
    this.#flushQueued = true;
    // Edits of one task go out together.
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#sealed?.flush();
      for (const c of this.#connections.values()) {
        if (this.#stopped) return;
        this.#guard(c, () => c.flush());
      }
    });
  }

  #webrtcCount(): number {
    let n = 0;
    for (const c of this.#connections.values()) if (c.link.via === "webrtc") n++;
    return n;
  }

  #maxPeers(): number {
    return this.#options.maxPeers ?? 8;
  }

  #updateStatus(): void {
    if (this.#stopped) return;
    const open = [...this.#connections.values()].filter((c) => c.open);
    let status: SyncStatus;
    const server = this.#connections.get(SERVER_PEER);
    const sealed = this.#sealed;
    const serverSynced = sealed ? sealed.caughtUp : server?.open === true && server.synced;
    // Someone in the room is out of reach, and no synced server carries their edits.
    const cutOff = this.#unreachable.size > 0 && !serverSynced;
    const sealedBehind = sealed !== undefined && this.#signaling?.open === true && !sealed.caughtUp;
    if (open.some((c) => !c.synced) || cutOff || sealedBehind) status = "syncing";
    else if (open.length > 0 || this.#signaling?.open || (!this.#signaling && this.#tabs)) status = "synced";
    else status = "connecting";
    this.#setStatus(status);
  }

  #setStatus(status: SyncStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#emit("status", status);
  }

  #emit<K extends keyof ProviderEvents>(event: K, value: ProviderEvents[K]): void {
    this.#events.emit(event, value);
  }
}
