/**
 * The typed message protocol between the agent and `analysis/frida_runner.py`.
 *
 * Every message the agent sends is one of `AgentMessage`; the runner dispatches on `type` and records
 * anything else as an "unknown message" warning instead of failing. Values are JSON-safe: bytes travel
 * as `{"$b64": "<standard base64>"}` wherever they appear (arguments, return values, nested objects),
 * so the detection stage can find and decode them without knowing the API.
 */

/** A JSON-safe value. Bytes are `{ $b64: string }`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One access the agent observed; the runner adds `seq` and `pid` when it writes hooks.jsonl. */
export interface AgentEvent {
    /** Per-script counter, starting at 0: the runner uses it to prove no event was lost. */
    n: number;
    /** Epoch seconds, millisecond resolution. */
    t: number;
    tid: number;
    category: string;
    api: string;
    args: JsonValue[];
    ret: JsonValue;
    stack: string[];
}

export type ModuleStatus = "attached" | "failed" | "skipped";

/** What one module reported after installing. */
export interface ModuleReport {
    name: string;
    status: ModuleStatus;
    /** Number of methods/functions hooked. */
    hooks: number;
    /** Classes or libraries that do not exist here (the expected, ignored case). */
    missing: string[];
    /** Why the module failed or was skipped. */
    reason?: string;
}

export interface EventsMessage {
    type: "hooks:events";
    events: AgentEvent[];
}

export interface ReadyMessage {
    type: "agent:ready";
    modules: ModuleReport[];
    frida: string;
    runtime: string;
    java: boolean;
}

export interface WarningMessage {
    type: "agent:warning";
    module: string;
    message: string;
}

/** A native exception is being raised in the process (sent after flushing queued events). */
export interface ExceptionMessage {
    type: "agent:exception";
    kind: string;
    address: string;
}

export type AgentMessage = EventsMessage | ReadyMessage | WarningMessage | ExceptionMessage;

/** What the runner passes to `rpc.exports.init`. */
export interface AgentConfig {
    /** Module names to install; empty or absent = all. */
    modules?: string[];
    /** (class, method) pairs for the `watch` module. */
    watch?: [string, string][];
    /** DER of the interception CA, base64, for the native pinning bypass (trust this CA, not everything). */
    caDerBase64?: string;
}
