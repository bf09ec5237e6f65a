/**
 * Pinning bypass for ByteDance's own BoringSSL (`libsscronet.so`, `libttboringssl.so`, and any other
 * library exporting BoringSSL's custom-verify API), watched for as the libraries load.
 *
 * The app's certificate callback is wrapped: when the server's chain contains our interception CA
 * (its DER, passed by the runner as `caDerBase64`), the wrapper accepts; for any other chain it defers
 * to the app's own callback. So the agent trusts our CA, not everything. Without the CA, or when the
 * library lacks the functions needed to read the chain, nothing is replaced and a warning says why.
 *
 * Events: category "tls"; api "<lib>!custom_verify"; args ["ssl"], ret "accepted-our-ca".
 */
import { describeError, emit, warn } from "../lib/emit.js";
import type { NativeHookModule } from "../lib/module.js";
import { onLibrary, ownExport } from "../lib/native.js";
import type { AgentConfig, ModuleReport } from "../lib/protocol.js";

const LIBRARIES = ["libsscronet.so", "libttboringssl.so"];
const SSL_VERIFY_OK = 0;

function decodeBase64(text: string): Uint8Array {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const clean = text.replace(/[^A-Za-z0-9+/]/g, "");
    const out: number[] = [];
    let bits = 0;
    let value = 0;
    for (const ch of clean) {
        value = (value << 6) | alphabet.indexOf(ch);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push((value >> bits) & 0xff);
        }
    }
    return new Uint8Array(out);
}

function equalBytes(address: NativePointer, length: number, expected: Uint8Array): boolean {
    if (length !== expected.length) {
        return false;
    }
    const actual = new Uint8Array(address.readByteArray(length) as ArrayBuffer);
    return actual.every((b, i) => b === expected[i]);
}

// Keep replacement callbacks alive for as long as the library may call them.
const keepAlive: NativeCallback<"int", ["pointer", "pointer"]>[] = [];

function hookLibrary(m: Module, ca: Uint8Array, report: ModuleReport): void {
    const find = (name: string): NativePointer | null => ownExport(m, name);
    const setters = ["SSL_CTX_set_custom_verify", "SSL_set_custom_verify"].filter((n) => find(n) !== null);
    if (setters.length === 0) {
        return;
    }
    const peers = find("SSL_get0_peer_certificates");
    const num = find("sk_num") ?? find("OPENSSL_sk_num");
    const value = find("sk_value") ?? find("OPENSSL_sk_value");
    const data = find("CRYPTO_BUFFER_data");
    const len = find("CRYPTO_BUFFER_len");
    if (peers === null || num === null || value === null || data === null || len === null) {
        warn("tls-native", `${m.name}: cannot read the peer chain (missing exports); its pinning is left in place`);
        return;
    }
    const getPeers = new NativeFunction(peers, "pointer", ["pointer"]);
    const skNum = new NativeFunction(num, "size_t", ["pointer"]);
    const skValue = new NativeFunction(value, "pointer", ["pointer", "size_t"]);
    const bufData = new NativeFunction(data, "pointer", ["pointer"]);
    const bufLen = new NativeFunction(len, "size_t", ["pointer"]);

    const chainHasOurCa = (ssl: NativePointer): boolean => {
        const chain = getPeers(ssl);
        if (chain.isNull()) {
            return false;
        }
        const count = Number(skNum(chain));
        for (let i = 0; i < count; i++) {
            const buffer = skValue(chain, i);
            if (equalBytes(bufData(buffer), Number(bufLen(buffer)), ca)) {
                return true;
            }
        }
        return false;
    };

    for (const setter of setters) {
        Interceptor.attach(find(setter) as NativePointer, {
            onEnter(args) {
                const original = args[2];
                const callOriginal = original.isNull() ? null : new NativeFunction(original, "int", ["pointer", "pointer"]);
                const wrapper = new NativeCallback((ssl: NativePointer, alert: NativePointer): number => {
                    try {
                        if (chainHasOurCa(ssl)) {
                            emit({ category: "tls", api: `${m.name}!custom_verify`, args: [ssl.toString()], ret: "accepted-our-ca", stack: [] });
                            return SSL_VERIFY_OK;
                        }
                    } catch (e) {
                        warn("tls-native", `${m.name}: reading the chain failed: ${describeError(e)}`);
                    }
                    return callOriginal === null ? SSL_VERIFY_OK : callOriginal(ssl, alert);
                }, "int", ["pointer", "pointer"]);
                keepAlive.push(wrapper);
                args[2] = wrapper;
            },
        });
        report.hooks++;
    }
}

export const tlsNativeModule: NativeHookModule = {
    name: "tls-native",
    kind: "native",
    install(config: AgentConfig): ModuleReport {
        const report: ModuleReport = { name: "tls-native", status: "attached", hooks: 0, missing: [] };
        if (config.caDerBase64 === undefined || config.caDerBase64 === "") {
            report.status = "skipped";
            report.reason = "no interception CA given (caDerBase64); BoringSSL pinning left in place";
            return report;
        }
        const ca = decodeBase64(config.caDerBase64);
        onLibrary((m) => {
            if (LIBRARIES.includes(m.name) || m.name.includes("boringssl")) {
                hookLibrary(m, ca, report);
            }
        });
        return report;
    },
};
