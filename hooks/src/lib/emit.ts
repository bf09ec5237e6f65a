/**
 * Sending events and warnings, batched under load.
 *
 * No timers, and the runner does not poll: a fork while a timer is pending or an RPC is in flight
 * loses the child (Frida cannot gate it and the child dies before running; seen with Frida 17.26 on
 * Linux). So a quiet process sends each event at once; under load, events go out together once
 * MAX_BATCH are queued or MAX_DELAY_MS has passed since the last send. The tail of a burst goes out
 * with the next event, on `flush()` (RPC, called by the runner at stop), when the script is disposed,
 * or just before a native crash. Events are never dropped, and each keeps the time of its call.
 */
import type { AgentEvent, JsonValue, WarningMessage } from "./protocol.js";

const MAX_DELAY_MS = 20;
const MAX_BATCH = 500;

let pending: AgentEvent[] = [];
let lastSend = 0;
let counter = 0;

export interface EventFields {
    category: string;
    api: string;
    args: JsonValue[];
    ret: JsonValue;
    stack: string[];
}

/** Queue one event; it carries the time and thread of the call it describes. */
export function emit(fields: EventFields): void {
    const now = Date.now();
    pending.push({
        n: counter++,
        t: now / 1000,
        tid: Process.getCurrentThreadId(),
        category: fields.category,
        api: fields.api,
        args: fields.args,
        ret: fields.ret,
        stack: fields.stack,
    });
    if (pending.length >= MAX_BATCH || now - lastSend >= MAX_DELAY_MS) {
        flush();
    }
}

/** Send every queued event now. */
export function flush(): void {
    lastSend = Date.now();
    if (pending.length === 0) {
        return;
    }
    const events = pending;
    pending = [];
    send({ type: "hooks:events", events });
}

/** Report something the operator must know (a hook that could not be installed, an unexpected error). */
export function warn(module: string, message: string): void {
    const msg: WarningMessage = { type: "agent:warning", module, message };
    send(msg);
}

/** A short text for any thrown value. */
export function describeError(e: unknown): string {
    if (e instanceof Error) {
        return e.message;
    }
    return String(e);
}
