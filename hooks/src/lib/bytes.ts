/** Bytes to the protocol's JSON form `{ $b64 }` (GumJS has no btoa, so encode here). */
import type { JsonValue } from "./protocol.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64(bytes: Uint8Array): string {
    let out = "";
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
    }
    const rest = bytes.length - i;
    if (rest === 1) {
        const n = bytes[i] << 16;
        out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] + "==";
    } else if (rest === 2) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
        out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + "=";
    }
    return out;
}

/** `{ $b64 }` for native memory; null when the memory cannot be read. */
export function bytesAt(address: NativePointer, length: number): JsonValue {
    if (length <= 0 || address.isNull()) {
        return { $b64: "" };
    }
    const buffer = address.readByteArray(length);
    return buffer === null ? null : { $b64: base64(new Uint8Array(buffer)) };
}

/** `{ $b64 }` for a list of (possibly signed, as Java hands them over) byte values. */
export function bytesFromNumbers(values: ArrayLike<number>): JsonValue {
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) {
        bytes[i] = values[i] & 0xff;
    }
    return { $b64: base64(bytes) };
}
