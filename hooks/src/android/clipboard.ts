/**
 * Clipboard reads, every path: the ClipboardManager API (both the modern and the deprecated text
 * calls), listener registration, and the binder proxy beneath them, which also catches reflective or
 * hidden calls that skip ClipboardManager. The text the app received is recorded from the object it
 * was handed; the agent never reads the clipboard itself.
 *
 * Events: category "clipboard"; api e.g. "ClipboardManager.getPrimaryClip"; ret for a ClipData is
 * `{ $class, value, texts: [...] }` with each item's text.
 */
import { toJson, hookMethods, type JavaObject, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";
import type { JsonValue } from "../lib/protocol.js";

/** The texts inside a ClipData the app received (item by item, as the app would see them). */
export function clipTexts(clip: unknown): JsonValue {
    if (clip === null || clip === undefined) {
        return null;
    }
    const data = clip as JavaObject & { getItemCount(): number; getItemAt(i: number): { getText(): unknown } };
    const out = toJson(clip) as { [key: string]: JsonValue };
    const texts: JsonValue[] = [];
    for (let i = 0; i < data.getItemCount(); i++) {
        const text = data.getItemAt(i).getText();
        texts.push(text === null || text === undefined ? null : String(text));
    }
    out.texts = texts;
    return out;
}

const MANAGER = "android.content.ClipboardManager";
const BINDER = "android.content.IClipboard$Stub$Proxy";

const retClip = (value: unknown): JsonValue => clipTexts(value);

export const HOOKS: MethodHook[] = [
    { cls: MANAGER, method: "getPrimaryClip", ret: retClip },
    { cls: MANAGER, method: "getPrimaryClipDescription" },
    { cls: MANAGER, method: "hasPrimaryClip" },
    { cls: MANAGER, method: "getText" },
    { cls: MANAGER, method: "hasText" },
    { cls: MANAGER, method: "addPrimaryClipChangedListener" },
    { cls: BINDER, method: "getPrimaryClip", ret: retClip },
    { cls: BINDER, method: "getPrimaryClipDescription" },
    { cls: BINDER, method: "hasPrimaryClip" },
    { cls: BINDER, method: "hasClipboardText" },
    { cls: BINDER, method: "addPrimaryClipChangedListener" },
];

export const clipboardModule: JavaHookModule = {
    name: "clipboard",
    kind: "java",
    install(log): void {
        hookMethods(log, "clipboard", HOOKS);
    },
};
