/**
 * Shared native helpers: watch libraries as they load, hook each function address once, read
 * socket addresses, and turn a backtrace into `module+offset` lines.
 */
import { describeError, warn } from "./emit.js";

const hookedAddresses = new Set<string>();

/**
 * Attach `callbacks` at `address` unless some module already did: imports resolve through dependencies
 * (libssl's "connect" is libc's), and two listeners on one function would report every call twice.
 */
export function attachOnce(module: string, address: NativePointer, callbacks: InvocationListenerCallbacks): boolean {
    const key = address.toString();
    if (hookedAddresses.has(key)) {
        return false;
    }
    try {
        Interceptor.attach(address, callbacks);
    } catch (e) {
        warn(module, `cannot hook ${key}: ${describeError(e)}`);
        return false;
    }
    hookedAddresses.add(key);
    return true;
}

/**
 * An export defined in `m` itself, or null. A plain export lookup can resolve through dependencies
 * (a module importing SSL_write answers with libssl's); that library gets its own turn.
 */
export function ownExport(m: Module, name: string): NativePointer | null {
    const address = m.findExportByName(name);
    return address !== null && address.compare(m.base) >= 0 && address.compare(m.base.add(m.size)) < 0 ? address : null;
}

const observers: ((m: Module) => void)[] = [];
let observing = false;

/** Call `fn` for every library already loaded and every one loaded later (e.g. libssl at `import ssl`). */
export function onLibrary(fn: (m: Module) => void): void {
    observers.push(fn);
    if (observing) {
        for (const m of Process.enumerateModules()) {
            fn(m);
        }
        return;
    }
    observing = true;
    Process.attachModuleObserver({
        onAdded(m: Module): void {
            for (const observer of observers) {
                try {
                    observer(m);
                } catch (e) {
                    warn("native", `${m.name}: ${describeError(e)}`);
                }
            }
        },
    });
}

/** Native backtrace as `lib.so+0x1234` lines (cheap: no symbol lookup), innermost first. */
export function nativeStack(context: CpuContext, limit = 8): string[] {
    const out: string[] = [];
    for (const address of Thread.backtrace(context, Backtracer.ACCURATE).slice(0, limit)) {
        const m = Process.findModuleByAddress(address);
        out.push(m === null ? address.toString() : `${m.name}+0x${address.sub(m.base).toString(16)}`);
    }
    return out;
}

const AF_INET = 2;
const AF_INET6 = 10;

/** "ip:port" for an AF_INET/AF_INET6 sockaddr; null for other families (AF_UNIX, e.g. nscd). */
export function socketAddress(sa: NativePointer): string | null {
    if (sa.isNull()) {
        return null;
    }
    const family = sa.readU16();
    if (family !== AF_INET && family !== AF_INET6) {
        return null;
    }
    const portBytes = new Uint8Array(sa.add(2).readByteArray(2) as ArrayBuffer);
    const port = (portBytes[0] << 8) | portBytes[1];
    if (family === AF_INET) {
        const b = new Uint8Array(sa.add(4).readByteArray(4) as ArrayBuffer);
        return `${b[0]}.${b[1]}.${b[2]}.${b[3]}:${port}`;
    }
    const b = new Uint8Array(sa.add(8).readByteArray(16) as ArrayBuffer);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
        groups.push(((b[i] << 8) | b[i + 1]).toString(16));
    }
    return `[${groups.join(":")}]:${port}`;
}

/** The C library: glibc on the Linux host, bionic on Android (their `addrinfo` layouts differ). */
export function libc(): { module: Module; bionic: boolean } {
    const glibc = Process.findModuleByName("libc.so.6");
    if (glibc !== null) {
        return { module: glibc, bionic: false };
    }
    return { module: Process.getModuleByName("libc.so"), bionic: true };
}
