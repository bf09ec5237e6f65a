/**
 * Plaintext of every TLS record written or read through any loaded OpenSSL or BoringSSL
 * (`SSL_write`, `SSL_write_ex`, `SSL_read`, `SSL_read_ex`): a second channel beside the proxy that
 * still works when an app pins certificates or bypasses the proxy.
 *
 * Event: category "tls-plaintext"; api is the function name; args[0] = {ssl, lib}; for writes the
 * plaintext is args[1] (`{ $b64 }`), for reads it is `ret` (`{ $b64 }`). Only successful calls are recorded.
 */
import { bytesAt } from "../lib/bytes.js";
import { emit } from "../lib/emit.js";
import type { NativeHookModule } from "../lib/module.js";
import { attachOnce, nativeStack, onLibrary, ownExport } from "../lib/native.js";
import type { ModuleReport } from "../lib/protocol.js";

const CATEGORY = "tls-plaintext";

interface SslFunction {
    name: string;
    write: boolean;
    /** `_ex` variants return 1 and put the length in *args[3] (a size_t); the others return the length. */
    ex: boolean;
}

const FUNCTIONS: SslFunction[] = [
    { name: "SSL_write", write: true, ex: false },
    { name: "SSL_write_ex", write: true, ex: true },
    { name: "SSL_read", write: false, ex: false },
    { name: "SSL_read_ex", write: false, ex: true },
];

function hookFunction(m: Module, fn: SslFunction, report: ModuleReport): void {
    const address = ownExport(m, fn.name);
    if (address === null) {
        return;
    }
    const attached = attachOnce("ssl", address, {
        onEnter(args) {
            this.ssl = args[0];
            this.buf = args[1];
            this.lengthOut = args[3];
        },
        onLeave(retval) {
            const result = retval.toInt32();
            let n = result;
            if (fn.ex) {
                // The length is known only after the call, and only when the call succeeded.
                n = result === 1 && !this.lengthOut.isNull() ? (this.lengthOut.readULong() as number) : 0;
            }
            if (n <= 0) {
                return;
            }
            const conn = { ssl: this.ssl.toString(), lib: m.name };
            const data = bytesAt(this.buf, n);
            emit({
                category: CATEGORY,
                api: fn.name,
                args: fn.write ? [conn, data] : [conn],
                ret: fn.write ? n : data,
                stack: nativeStack(this.context),
            });
        },
    });
    if (attached) {
        report.hooks++;
    }
}

export const sslModule: NativeHookModule = {
    name: "ssl",
    kind: "native",
    install(): ModuleReport {
        const report: ModuleReport = { name: "ssl", status: "attached", hooks: 0, missing: [] };
        onLibrary((m) => {
            for (const fn of FUNCTIONS) {
                hookFunction(m, fn, report);
            }
        });
        return report;
    },
};
