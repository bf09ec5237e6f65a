/**
 * `connect()` to IPv4/IPv6 peers: which addresses the app opened sockets to, with the native stack.
 * AF_UNIX connects (glibc's own nscd lookups, logd) are not network traffic and are not recorded.
 *
 * Event: category "network", api "connect", args [fd, "ip:port"], ret = connect's result.
 */
import { emit } from "../lib/emit.js";
import type { NativeHookModule } from "../lib/module.js";
import { attachOnce, libc, nativeStack, socketAddress } from "../lib/native.js";
import type { ModuleReport } from "../lib/protocol.js";

export const connectModule: NativeHookModule = {
    name: "connect",
    kind: "native",
    install(): ModuleReport {
        const report: ModuleReport = { name: "connect", status: "attached", hooks: 0, missing: [] };
        // Look the name up in libc only: other libraries' "connect" resolve to the same function.
        const address = libc().module.getExportByName("connect");
        if (attachOnce("connect", address, {
            onEnter(args) {
                this.fd = args[0].toInt32();
                this.peer = socketAddress(args[1]);
            },
            onLeave(retval) {
                if (this.peer !== null) {
                    emit({
                        category: "network", api: "connect",
                        args: [this.fd, this.peer], ret: retval.toInt32(), stack: nativeStack(this.context),
                    });
                }
            },
        })) report.hooks++;
        return report;
    },
};
