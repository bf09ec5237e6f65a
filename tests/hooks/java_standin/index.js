/**
 * STAND-IN for frida-java-bridge (the Java bridge), for tests on a Linux host where there is no ART.
 *
 * It replaces exactly the `frida-java-bridge` package when the test bundle is built, so every other
 * line of the agent runs unchanged inside a real Frida session. It models:
 *   - `Java.use(name)` on "this Android version": every class exists except ABSENT (which throw
 *     ClassNotFoundException, as the real bridge does) and BROKEN (which throw another error);
 *   - methods with overloads whose `implementation` can be replaced, and `apply()` reaching the
 *     original; each original records the arguments it received and returns a fixed value;
 *   - a Java stack from `java.lang.Throwable.$new().getStackTrace()`;
 *   - Java objects (ClipData, List, WebView) with `$className` and `toString()`, and byte[] as arrays
 *     of signed numbers.
 * The test acts as the app through `rpc.exports.standinCall(cls, method, overload, args)`.
 */

export const ABSENT = [
    "android.content.IClipboard$Stub$Proxy",
    "com.google.android.gms.ads.identifier.AdvertisingIdClient",
    "com.google.android.gms.ads.identifier.AdvertisingIdClient$Info",
    "com.example.NotInThisBuild",
    "com.google.android.gms.location.FusedLocationProviderClient",
    "com.google.android.gms.location.LocationResult",
    "okhttp3.CertificatePinner",
    // TikTok 22.5.3 is "this build": the later and AppLog-SDK entry points of hooks/src/bytedance/profile.ts are absent.
    "ms.bd.o.k",
    "com.bytedance.applog.encryptor.EncryptorUtil",
];
export const BROKEN = ["android.os.SystemProperties"];
export const MISSING_METHODS = [
    "android.telephony.TelephonyManager.getMeid",
    "com.bytedance.frameworks.encryptor.EncryptorUtil.LIZ",
    "com.bytedance.frameworks.encryptor.EncryptorUtil.encrypt",
];

export const STACK = [
    "com.example.sdk.Collector.collect(Collector.java:42)",
    "com.example.app.MainActivity.onResume(MainActivity.java:7)",
];

function javaObject(className, text, extra) {
    return Object.assign({ $className: className, toString: () => text }, extra || {});
}

function javaList(className, items) {
    return javaObject(className, `[${items.map(String).join(", ")}]`, {
        size: () => items.length,
        get: (i) => items[i],
    });
}

function clipData(texts) {
    return javaObject("android.content.ClipData", `ClipData { text/plain {T:${texts.join("|")}} }`, {
        getItemCount: () => texts.length,
        getItemAt: (i) => ({ getText: () => texts[i] }),
    });
}

const S = "java.lang.String";

/** Originals: [argument types, return type, result] per overload. */
const ORIGINALS = {
    "android.content.ClipboardManager.getPrimaryClip": [[[], "android.content.ClipData", () => clipData(["canary-clip-7f3a"])]],
    "android.content.ClipboardManager.getText": [[[], "java.lang.CharSequence", () => "canary-clip-7f3a"]],
    "android.content.ClipboardManager.hasPrimaryClip": [[[], "boolean", () => true]],
    "android.telephony.TelephonyManager.getImei": [
        [[], S, () => "358240051111110"],
        [["int"], S, (slot) => `35824005111111${slot}`],
    ],
    "android.provider.Settings$Secure.getString": [[["android.content.ContentResolver", S], S, (_r, name) => (name === "android_id" ? "9774d56d682e549c" : "other")]],
    "java.net.NetworkInterface.getHardwareAddress": [[[], "[B", () => [2, 0, 0, -85, -51, -17]]],
    "android.location.LocationManager.getLastKnownLocation": [[[S], "android.location.Location", () => javaObject("android.location.Location", "Location[gps 52.520008,13.404954 acc=5]")]],
    "android.content.ContentResolver.query": [[["android.net.Uri", "[Ljava.lang.String;", S, "[Ljava.lang.String;", S], "android.database.Cursor", () => javaObject("android.database.CursorWrapper", "cursor")]],
    "android.app.ApplicationPackageManager.getInstalledPackages": [[["int"], "java.util.List", () => javaList("java.util.ArrayList", ["PackageInfo{1 com.whatsapp}", "PackageInfo{2 com.example.bank}"].map((t) => javaObject("android.content.pm.PackageInfo", t)))]],
    "android.webkit.WebView.evaluateJavascript": [[[S, "android.webkit.ValueCallback"], "void", () => undefined]],
    "android.webkit.WebView.loadUrl": [[[S], "void", () => undefined]],
    "android.security.net.config.NetworkSecurityTrustManager.checkPins": [[["java.util.List"], "void", () => { throw new Error("javax.net.ssl.SSLPeerUnverifiedException: pin mismatch"); }]],
    "com.example.crypto.Box.seal": [[["[B"], "[B", (data) => data.map((b) => b ^ 1)]],
    // TikTok 22.5.3's signatures (toventang/tiktok-smali); "encryption" here is the ttEncrypt magic + each byte XOR 1.
    "com.bytedance.frameworks.encryptor.EncryptorUtil.ttEncrypt": [[["[B", "int"], "[B", (data) => [116, 99, 5, 16, 0, 0, ...Array.from(data, (b) => b ^ 1)]]],
    "com.bytedance.frameworks.encryptor.EncryptorUtil.a": [[["[B", "int"], "[B", (data) => [116, 99, 5, 16, 0, 0, ...Array.from(data, (b) => b ^ 1)]]],
    "ms.bd.o.h.a": [[["int", "int", "long", S, "java.lang.Object"], "java.lang.Object", (cmd) => `metasec-result-${cmd}`]],
    "ms.bd.o.b.b": [[["int", "int", "long", S, "java.lang.Object"], "java.lang.Object", () => "EMU7X9K2Q4"]],
};

function defaultOriginal(cls, method) {
    return [[[], S, () => `<${cls}.${method}>`]];
}

/** Arguments each original received, by "class.method". */
export const received = {};

function makeMethod(cls, method, [argTypes, retType, original]) {
    const key = `${cls}.${method}`;
    const m = {
        implementation: null,
        argumentTypes: argTypes.map((className) => ({ className })),
        returnType: { className: retType },
        apply(receiver, args) {
            (received[key] = received[key] || []).push(args);
            return original.apply(receiver, args);
        },
    };
    return m;
}

const classes = new Map();

function makeClass(cls) {
    const dispatchers = new Map();
    return new Proxy({}, {
        get(_target, member) {
            if (typeof member !== "string" || member === "then") {
                return undefined;
            }
            if (member === "$new" && cls === "java.lang.Throwable") {
                return () => ({ getStackTrace: () => STACK.map((line) => ({ toString: () => line })) });
            }
            if (MISSING_METHODS.includes(`${cls}.${member}`)) {
                return undefined;
            }
            if (!dispatchers.has(member)) {
                const specs = ORIGINALS[`${cls}.${member}`] || defaultOriginal(cls, member);
                dispatchers.set(member, { overloads: specs.map((spec) => makeMethod(cls, member, spec)) });
            }
            return dispatchers.get(member);
        },
    });
}

const Java = {
    available: true,
    perform(fn) {
        fn();
    },
    use(cls) {
        if (ABSENT.includes(cls)) {
            throw new Error(`java.lang.ClassNotFoundException: Didn't find class "${cls}" on path: DexPathList[]`);
        }
        if (BROKEN.includes(cls)) {
            throw new Error(`java.lang.IllegalAccessError: ${cls} is a hidden API`);
        }
        if (!classes.has(cls)) {
            classes.set(cls, makeClass(cls));
        }
        return classes.get(cls);
    },
};

/** Receivers the app would call on (a WebView that knows its page). */
function receiverFor(cls) {
    if (cls === "android.webkit.WebView") {
        return javaObject(cls, "WebView", { getUrl: () => "https://shop.example/checkout" });
    }
    return javaObject(cls, cls);
}

/** The app calls `cls.method` (overload `index`) with `args`: through the hook if one is installed. */
rpc.exports.standinCall = function (cls, method, index, args) {
    const overload = Java.use(cls)[method].overloads[index];
    // Python hands over strings; the app would hand over a Uri object.
    args = args.map((a, i) => (overload.argumentTypes[i].className === "android.net.Uri" && typeof a === "string" ? javaObject("android.net.Uri$StringUri", a) : a));
    const key = `${cls}.${method}`;
    const before = (received[key] || []).length;
    let ret;
    let threw = null;
    try {
        ret = overload.implementation !== null ? overload.implementation.apply(receiverFor(cls), args) : overload.apply(receiverFor(cls), args);
    } catch (e) {
        threw = String(e.message || e);
    }
    const got = (received[key] || []).slice(before).map((call) => call.map((a) => (a !== null && typeof a === "object" && "$className" in a ? a.toString() : a)));
    return {
        hooked: overload.implementation !== null,
        ret: ret === undefined ? null : (typeof ret === "object" && ret !== null && "$className" in ret ? ret.toString() : ret),
        threw,
        originalCalls: got,
    };
};

export default Java;
