/**
 * The one place that imports frida-java-bridge (Frida 17 no longer bundles it), and the shared way every
 * Java module hooks a method: install on all overloads, call through to the original with the arguments
 * unchanged, return its result unchanged, and emit one event with the Java stack.
 *
 * Absent classes are expected (APIs come and go between Android versions and Play services builds):
 * only `ClassNotFoundException` is treated as "missing"; anything else becomes an `agent:warning`.
 */
// hotspot.ts must run before the bridge is evaluated (it attaches the JS thread as a JVM daemon).
import { hotspot } from "./hotspot.js";
import JavaBridge from "frida-java-bridge";

import { bytesFromNumbers } from "./bytes.js";
import { describeError, emit, warn } from "./emit.js";
import type { JsonValue, ModuleReport } from "./protocol.js";

/** The small slice of the bridge's API privlab uses; keeping it narrow keeps the test stand-in honest. */
export interface JavaType {
    className: string;
}

export interface JavaMethod {
    implementation: ((this: JavaObject, ...args: unknown[]) => unknown) | null;
    argumentTypes: JavaType[];
    returnType: JavaType;
    apply(receiver: unknown, args: unknown[]): unknown;
}

export interface JavaObject {
    $className?: string;
    toString(): string;
    [member: string]: unknown;
}

export interface JavaClass {
    [member: string]: unknown;
}

export interface JavaBridgeLike {
    available: boolean;
    perform(fn: () => void): void;
    use(className: string): JavaClass;
}

const Java = JavaBridge as unknown as JavaBridgeLike;

/** Whether this process runs ART (false on the Linux host: the native modules still work there). */
export function javaAvailable(): boolean {
    try {
        return Java.available;
    } catch {
        return false;
    }
}

/** Run `fn` once the VM is ready (immediately when attached, after the class loader is up when spawned). */
export function performJava(fn: () => void): void {
    Java.perform(fn);
}

/** A class that is not there: ART says ClassNotFoundException, HotSpot's FindClass NoClassDefFoundError. */
export function isClassNotFound(e: unknown): boolean {
    const text = describeError(e);
    return text.includes("ClassNotFoundException") || text.includes("NoClassDefFoundError");
}

/** Whether the Java runtime is a HotSpot JVM (the host twin) rather than Android's ART. */
export function onHotSpot(): boolean {
    return hotspot !== null;
}

/** How one module's hooks went, built up while installing. */
export class InstallLog {
    readonly report: ModuleReport;

    constructor(name: string) {
        this.report = { name, status: "attached", hooks: 0, missing: [] };
    }

    /** `Java.use`, with a missing class recorded (not reported as an error); null when absent or broken. */
    use(className: string): JavaClass | null {
        try {
            return Java.use(className);
        } catch (e) {
            if (isClassNotFound(e)) {
                this.report.missing.push(className);
            } else {
                warn(this.report.name, `cannot use ${className}: ${describeError(e)}`);
            }
            return null;
        }
    }
}

/** One method to observe: which class and method, how to name and filter the event. */
export interface MethodHook {
    cls: string;
    method: string;
    /** Emit only when this returns true (e.g. Settings.Secure.getString for "android_id" only). */
    when?: (args: unknown[]) => boolean;
    /** Override how the return value is recorded (default: by the declared return type). */
    ret?: (value: unknown, receiver: JavaObject) => JsonValue;
    /** Extra values appended to the recorded arguments (e.g. the WebView's page URL). */
    extra?: (receiver: JavaObject, args: unknown[]) => JsonValue[];
}

/** Hook every overload of each method; a missing class is noted, anything else warned about. */
export function hookMethods(log: InstallLog, category: string, hooks: MethodHook[]): void {
    const classes = new Map<string, JavaClass | null>();
    for (const spec of hooks) {
        if (!classes.has(spec.cls)) {
            classes.set(spec.cls, log.use(spec.cls));
        }
        const klass = classes.get(spec.cls);
        if (klass === null || klass === undefined) {
            continue;
        }
        try {
            const dispatcher = klass[spec.method] as { overloads?: JavaMethod[] } | undefined;
            if (dispatcher === undefined || dispatcher.overloads === undefined) {
                warn(log.report.name, `${spec.cls}.${spec.method}: no such method on this Android version`);
                continue;
            }
            for (const overload of dispatcher.overloads) {
                observe(overload, category, `${shortName(spec.cls)}.${spec.method}`, spec);
                log.report.hooks++;
            }
        } catch (e) {
            warn(log.report.name, `${spec.cls}.${spec.method}: ${describeError(e)}`);
        }
    }
}

const recordingThreads = new Set<number>();

/** Replace one overload with a pass-through that records the call. */
function observe(overload: JavaMethod, category: string, api: string, spec: MethodHook): void {
    const argTypes = overload.argumentTypes.map((t) => t.className);
    const retType = overload.returnType.className;
    overload.implementation = function (this: JavaObject, ...args: unknown[]): unknown {
        // The app's call happens first and exactly as made; recording must never change it.
        const result = overload.apply(this, args);
        const tid = Process.getCurrentThreadId();
        if (recordingThreads.has(tid)) {
            // A call made while we record another one (e.g. a hooked getter used by toString): not the app's.
            return result;
        }
        recordingThreads.add(tid);
        try {
            if (spec.when === undefined || spec.when(args)) {
                const recorded = args.map((a, i) => toJson(a, argTypes[i]));
                if (spec.extra !== undefined) {
                    recorded.push(...spec.extra(this, args));
                }
                emit({
                    category,
                    api,
                    args: recorded,
                    ret: spec.ret !== undefined ? spec.ret(result, this) : toJson(result, retType),
                    stack: javaStack(),
                });
            }
        } catch (e) {
            warn(category, `${api}: could not record a call: ${describeError(e)}`);
        } finally {
            recordingThreads.delete(tid);
        }
        return result;
    };
}

/** Replace one method's overloads with `replacement` (the pinning bypass); returns how many. */
export function replaceMethod(
    log: InstallLog,
    cls: string,
    method: string,
    replacement: (original: JavaMethod, receiver: JavaObject, args: unknown[]) => unknown,
): number {
    const klass = log.use(cls);
    if (klass === null) {
        return 0;
    }
    try {
        const dispatcher = klass[method] as { overloads?: JavaMethod[] } | undefined;
        if (dispatcher === undefined || dispatcher.overloads === undefined) {
            warn(log.report.name, `${cls}.${method}: no such method on this Android version`);
            return 0;
        }
        for (const overload of dispatcher.overloads) {
            overload.implementation = function (this: JavaObject, ...args: unknown[]): unknown {
                return replacement(overload, this, args);
            };
            log.report.hooks++;
        }
        return dispatcher.overloads.length;
    } catch (e) {
        warn(log.report.name, `${cls}.${method}: ${describeError(e)}`);
        return 0;
    }
}

/** The current Java stack, innermost first, as `StackTraceElement.toString()` lines. */
export function javaStack(): string[] {
    try {
        const Throwable = Java.use("java.lang.Throwable") as { $new(): { getStackTrace(): ArrayLike<JavaObject> } };
        const frames = Throwable.$new().getStackTrace();
        const out: string[] = [];
        for (let i = 0; i < frames.length; i++) {
            out.push(frames[i].toString());
        }
        return out;
    } catch (e) {
        return [`<no Java stack: ${describeError(e)}>`];
    }
}

const MAX_LIST = 1000;

/** A Java value as JSON, guided by its declared type: byte[] as `{ $b64 }`, objects as class + text. */
export function toJson(value: unknown, type?: string): JsonValue {
    if (value === null || value === undefined) {
        return null;
    }
    if (typeof value === "string" || typeof value === "boolean") {
        return value;
    }
    if (typeof value === "number") {
        return Number.isFinite(value) ? value : String(value);
    }
    // Java arrays arrive as array-likes (declared type "[..."); byte[] becomes { $b64 }.
    const arrayType = type !== undefined && type.startsWith("[");
    if (typeof value === "object" && typeof (value as ArrayLike<unknown>).length === "number" && (arrayType || !("$className" in value))) {
        const items = value as ArrayLike<unknown>;
        if (type === "[B") {
            return bytesFromNumbers(items as ArrayLike<number>);
        }
        const out: JsonValue[] = [];
        for (let i = 0; i < Math.min(items.length, MAX_LIST); i++) {
            out.push(toJson(items[i], type?.startsWith("[") ? type.slice(1) : undefined));
        }
        return out;
    }
    const obj = value as JavaObject;
    if (obj.$className === "java.lang.String") {
        return obj.toString();  // a String behind a CharSequence or Object declaration
    }
    const out: { [key: string]: JsonValue } = { $class: obj.$className ?? type ?? "?" };
    try {
        out.value = javaText(obj);
    } catch (e) {
        out.value = `<toString failed: ${describeError(e)}>`;
    }
    // Collections: record their elements' text (package lists, scan results, accounts).
    if (typeof obj.size === "function" && typeof obj.get === "function") {
        try {
            const size = (obj.size as () => number).call(obj);
            const items: JsonValue[] = [];
            for (let i = 0; i < Math.min(size, MAX_LIST); i++) {
                items.push(toJson((obj.get as (i: number) => unknown).call(obj, i)));
            }
            out.size = size;
            out.items = items;
        } catch {
            // Not a java.util.List after all; the text above stands.
        }
    }
    return out;
}

/**
 * The Java `toString()` of an object. A wrapper's own `toString` is Java's only when the class declares
 * it; an inherited one (e.g. `ArrayList` from `AbstractCollection`) gives JavaScript's "[object Object]",
 * so that case goes through `String.valueOf(Object)`, which dispatches virtually like the app's code.
 */
function javaText(obj: JavaObject): string {
    const text = obj.toString();
    if (text !== "[object Object]") {
        return text;
    }
    const JString = Java.use("java.lang.String") as { valueOf: { overload(sig: string): { call(recv: unknown, arg: unknown): unknown } } };
    return String(JString.valueOf.overload("java.lang.Object").call(JString, obj));
}

function shortName(cls: string): string {
    const dot = cls.lastIndexOf(".");
    return dot >= 0 ? cls.slice(dot + 1) : cls;
}
