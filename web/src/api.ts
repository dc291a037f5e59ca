// Everything the package exports, whatever the entry point.

export { Doc, DocView } from "./doc.js";
export type { Bias, BrokenError, ChangeEvent, DocEvents, DocOptions, DocState, DocStats, Origin, StickyIndex, UpdateEvent } from "./doc.js";
export type { WeftError } from "./errors.js";
export { applyDelta, compose, patchesToDelta } from "./delta.js";
export type { Delta, DeltaOp, DeleteOp, InsertOp, Patch, RetainOp } from "./delta.js";
export { Store } from "./store.js";
export { UndoManager } from "./undo.js";
export type { Selection, UndoManagerEvents, UndoManagerOptions, UndoResult, UndoStackEvent } from "./undo.js";
export type { CorruptionEvent, StoreEvents, StoreOptions, StoreStats } from "./store.js";
export { connect, Provider } from "./provider.js";
export type { ConnectOptions, PeerEvent, PeerInfo, PresenceEvent, PresenceState, ProviderError, ProviderEvents, Role, ServerDurableEvent, SyncStatus, TokenSource } from "./provider.js";
