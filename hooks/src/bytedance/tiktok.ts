/**
 * TikTok's own encryption, seen before it happens: the ttEncrypt entry points (the Java wrapper and the
 * native method behind it) and the security SDK's JNI dispatcher, for every app version in `PROFILES`.
 * Like every module it lets the app's call run first and records arguments and result unchanged: for
 * ttEncrypt, args[0] is the plaintext and ret the ciphertext, so analysis can link the plaintext to the
 * flow that carried those bytes.
 *
 * Events: category "bytedance-encrypt" (role ttencrypt), "bytedance-metasec" (metasec and its callbacks);
 * api e.g. "EncryptorUtil.ttEncrypt"; byte[] values as { $b64 }.
 */
import { hookMethods, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";
import { PROFILES } from "./profile.js";

const CATEGORY = { ttencrypt: "bytedance-encrypt", metasec: "bytedance-metasec", "metasec-callback": "bytedance-metasec" } as const;

/** One hook per (class, method, category) across all versions. */
export function profileHooks(): Map<string, MethodHook[]> {
    const out = new Map<string, MethodHook[]>();
    const seen = new Set<string>();
    for (const profile of PROFILES) {
        for (const e of profile.entries) {
            const key = `${e.cls}.${e.method}`;
            if (seen.has(key)) {
                continue;
            }
            seen.add(key);
            const category = CATEGORY[e.role];
            const list = out.get(category) ?? [];
            list.push({ cls: e.cls, method: e.method });
            out.set(category, list);
        }
    }
    return out;
}

export const tiktokModule: JavaHookModule = {
    name: "tiktok",
    kind: "java",
    install(log): void {
        // One lookup per class: a class absent from this build is noted as missing once, not per method.
        const classes = new Map<string, ReturnType<typeof log.use>>();
        for (const [category, hooks] of profileHooks()) {
            // A method of another app version is expected to be absent: noted as missing, not warned about.
            const present = hooks.filter((h) => {
                if (!classes.has(h.cls)) {
                    classes.set(h.cls, log.use(h.cls));
                }
                const klass = classes.get(h.cls) ?? null;
                if (klass === null) {
                    return false;
                }
                const dispatcher = klass[h.method] as { overloads?: unknown[] } | undefined;
                if (dispatcher === undefined || dispatcher.overloads === undefined) {
                    log.report.missing.push(`${h.cls}.${h.method}`);
                    return false;
                }
                return true;
            });
            hookMethods(log, category, present);
        }
    },
};
