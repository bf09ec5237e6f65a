/**
 * Generic method watching from the operator's list of (class, method): app-specific encryption or
 * serialisation entry points found later. Arguments and results are recorded with bytes as `{ $b64 }`.
 *
 * Events: category "watch"; api "<Class>.<method>".
 */
import { hookMethods } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";

export const watchModule: JavaHookModule = {
    name: "watch",
    kind: "java",
    install(log, config): void {
        const list = config.watch ?? [];
        hookMethods(log, "watch", list.map(([cls, method]) => ({ cls, method })));
    },
};
