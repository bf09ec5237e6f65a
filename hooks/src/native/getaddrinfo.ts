/**
 * Name lookups: `getaddrinfo` (and bionic's `android_getaddrinfofornet`, which Java's InetAddress uses),
 * so every host the app resolved is named even when the connection later bypasses the proxy.
 *
 * Event: category "network", api "getaddrinfo", args [node, service], ret = ["ip:port", ...] on success,
 * or the error code.
 */
import { emit } from "../lib/emit.js";
import type { NativeHookModule } from "../lib/module.js";
import { attachOnce, libc, nativeStack, socketAddress } from "../lib/native.js";
import type { ModuleReport } from "../lib/protocol.js";

/**
 * Walk a `struct addrinfo` list. glibc puts ai_addr before ai_canonname; bionic (BSD) the other way round.
 * The two pointers follow five 32-bit fields, padded to pointer alignment.
 */
function addresses(head: NativePointer, bionic: boolean): string[] {
    const ps = Process.pointerSize;
    const first = ps === 8 ? 24 : 20;
    const addrOffset = bionic ? first + ps : first;
    const nextOffset = first + 2 * ps;
    const out: string[] = [];
    let node = head;
    for (let i = 0; !node.isNull() && i < 64; i++) {
        const address = socketAddress(node.add(addrOffset).readPointer());
        if (address !== null && !out.includes(address)) {
            out.push(address);
        }
        node = node.add(nextOffset).readPointer();
    }
    return out;
}

function hookLookup(report: ModuleReport, fn: string, address: NativePointer, resultArg: number, bionic: boolean): void {
    if (attachOnce("getaddrinfo", address, {
        onEnter(args) {
            this.node = args[0].isNull() ? null : args[0].readUtf8String();
            this.service = args[1].isNull() ? null : args[1].readUtf8String();
            this.res = args[resultArg];
        },
        onLeave(retval) {
            const code = retval.toInt32();
            emit({
                category: "network", api: fn,
                args: [this.node, this.service],
                ret: code === 0 && !this.res.isNull() ? addresses(this.res.readPointer(), bionic) : code,
                stack: nativeStack(this.context),
            });
        },
    })) report.hooks++;
}

export const getaddrinfoModule: NativeHookModule = {
    name: "getaddrinfo",
    kind: "native",
    install(): ModuleReport {
        const report: ModuleReport = { name: "getaddrinfo", status: "attached", hooks: 0, missing: [] };
        const { module, bionic } = libc();
        hookLookup(report, "getaddrinfo", module.getExportByName("getaddrinfo"), 3, bionic);
        const android = module.findExportByName("android_getaddrinfofornet");
        if (android !== null) {
            hookLookup(report, "android_getaddrinfofornet", android, 5, bionic);
        }
        return report;
    },
};
