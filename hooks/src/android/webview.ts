/**
 * Script injected into in-app browser pages: `evaluateJavascript`, `loadUrl("javascript:...")` and
 * `addJavascriptInterface`, each with the page URL the WebView showed at the time.
 *
 * Events: category "webview"; args are the call's arguments followed by `{ page: <url> }`.
 */
import { hookMethods, type JavaObject, type MethodHook } from "../lib/java.js";
import type { JavaHookModule } from "../lib/module.js";
import type { JsonValue } from "../lib/protocol.js";

const WEBVIEW = "android.webkit.WebView";

/** The page URL (WebView calls arrive on the UI thread, where getUrl() is allowed). */
export function pageUrl(receiver: JavaObject): JsonValue[] {
    try {
        const url = (receiver.getUrl as () => unknown).call(receiver);
        return [{ page: url === null || url === undefined ? null : String(url) }];
    } catch {
        return [{ page: null }];
    }
}

const isScriptUrl = (args: unknown[]): boolean => String(args[0]).trim().toLowerCase().startsWith("javascript:");

export const HOOKS: MethodHook[] = [
    { cls: WEBVIEW, method: "evaluateJavascript", extra: pageUrl },
    { cls: WEBVIEW, method: "loadUrl", when: isScriptUrl, extra: pageUrl },
    { cls: WEBVIEW, method: "addJavascriptInterface", extra: pageUrl },
];

export const webviewModule: JavaHookModule = {
    name: "webview",
    kind: "java",
    install(log): void {
        hookMethods(log, "webview", HOOKS);
    },
};
