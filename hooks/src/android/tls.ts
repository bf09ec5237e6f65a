/**
 * Certificate pinning bypass for the Java TLS stacks, so the proxy can read what the app sends. Chain
 * validation itself stays on: the interception CA sits in the system store, so only pin checks are
 * switched off (OkHttp's CertificatePinner, Android's internal OkHttp, network security config pins). Each bypassed check is recorded, so the report can say where the agent
 * changed the app's behaviour.
 *
 * Events: category "tls"; api "<Class>.<method>"; args[0] is the host whose pins were skipped; ret "bypassed".
 */
import { emit } from "../lib/emit.js";
import { javaStack, replaceMethod, toJson, type InstallLog } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";

/** (class, method) pairs whose only job is to throw when pins do not match: made to return normally. */
export const PIN_CHECKS: [string, string][] = [
    ["okhttp3.CertificatePinner", "check"],
    ["okhttp3.CertificatePinner", "check$okhttp"],
    ["com.android.okhttp.CertificatePinner", "check"],
    ["android.security.net.config.NetworkSecurityTrustManager", "checkPins"],
];

function bypassPins(log: InstallLog): void {
    for (const [cls, method] of PIN_CHECKS) {
        const api = `${cls.slice(cls.lastIndexOf(".") + 1)}.${method}`;
        replaceMethod(log, cls, method, (original, _receiver, args) => {
            emit({
                category: "tls", api,
                args: args.length > 0 && typeof args[0] === "string" ? [args[0]] : [toJson(args[0])],
                ret: "bypassed", stack: javaStack(),
            });
            // All of these are void or boolean "pins ok"; never call the original (it would throw).
            return original.returnType.className === "boolean" ? true : undefined;
        });
    }
}

export const tlsModule: JavaHookModule = {
    name: "tls",
    kind: "java",
    install(log): void {
        bypassPins(log);
    },
};
